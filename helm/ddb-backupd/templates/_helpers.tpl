{{/* Chart name, truncated to the 63 characters a label value may hold. */}}
{{- define "ddb-backupd.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects. */}}
{{- define "ddb-backupd.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ddb-backupd.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object carries. */}}
{{- define "ddb-backupd.labels" -}}
helm.sh/chart: {{ include "ddb-backupd.chart" . }}
{{ include "ddb-backupd.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ddb-backupd
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Labels the Deployment, Service, PDB and NetworkPolicy select pods by. In a shard's context
(see "ddb-backupd.contexts") they add the shard's name, so each shard's Deployment and PDB
select only its pods; the release's Service and NetworkPolicy select every shard's pods.
*/}}
{{- define "ddb-backupd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ddb-backupd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- with index . "Shard" }}
ddb-backupd/shard: {{ . }}
{{- end }}
{{- end }}

{{/* Name of a shard's objects (`<fullname>-<shard>`), or the full name without shards. */}}
{{- define "ddb-backupd.unitName" -}}
{{- with index . "Shard" }}
{{- printf "%s-%s" (include "ddb-backupd.fullname" $) . }}
{{- else }}
{{- include "ddb-backupd.fullname" . }}
{{- end }}
{{- end }}

{{/*
The contexts the ConfigMap, Deployment and PDB are rendered in, set as `contexts` into the
dict given as `out`: the release itself without `shards`, else one per shard, whose
`config` is the shard's merged over the top-level one (lists, e.g. `accounts`, replaced),
whose `replicaCount` is the shard's if given, whose `shards` is unset (a shard's context is
a release of one shard) and whose `Shard` is its name.
Usage: {{- $out := dict }}{{- $_ := include "ddb-backupd.contexts" (dict "root" $ "out" $out) }}
*/}}
{{- define "ddb-backupd.contexts" -}}
{{- $root := .root }}
{{- $contexts := list }}
{{- if not $root.Values.shards }}
{{- $contexts = list $root }}
{{- end }}
{{- range $root.Values.shards }}
{{- $values := deepCopy $root.Values }}
{{- $config := mergeOverwrite (deepCopy ($root.Values.config | default dict)) (deepCopy (get . "config" | default dict)) }}
{{- $_ := set $values "config" $config }}
{{- $_ := unset $values "shards" }}
{{- if hasKey . "replicaCount" }}
{{- $_ := set $values "replicaCount" .replicaCount }}
{{- end }}
{{- $contexts = append $contexts (dict "Values" $values "Release" $root.Release "Chart" $root.Chart "Capabilities" $root.Capabilities "Template" $root.Template "Files" $root.Files "Shard" .name) }}
{{- end }}
{{- $_ := set .out "contexts" $contexts }}
{{- end }}

{{- define "ddb-backupd.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ddb-backupd.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image reference: tag defaults to the chart's appVersion; a digest pins it. */}}
{{- define "ddb-backupd.image" -}}
{{- $ref := printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- if .Values.image.digest }}
{{- $ref = printf "%s@%s" $ref .Values.image.digest }}
{{- end }}
{{- $ref }}
{{- end }}

{{/* The ConfigMap holding config.yaml: the chart's own, or an existing one. */}}
{{- define "ddb-backupd.configMapName" -}}
{{- .Values.existingConfigMap | default (include "ddb-backupd.unitName" .) }}
{{- end }}

{{/* The chart's ConfigMap of one context (the release's, or a shard's). */}}
{{- define "ddb-backupd.configMap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "ddb-backupd.unitName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "ddb-backupd.labels" . | nindent 4 }}
data:
  config.yaml: |
    {{- if .Values.config }}
    {{- toYaml .Values.config | nindent 4 }}
    {{- else }}
    {}
    {{- end }}
{{- end }}

{{/*
Refuse values that would deploy something broken: more than one replica without leader
election (two schedulers), or a grace period the daemon's drain does not fit in. Checked in
each context (the release, or each shard: the messages then name it).
*/}}
{{- define "ddb-backupd.validate" -}}
{{- $where := "" }}
{{- with index . "Shard" }}
{{- $where = printf "shard %s: " . }}
{{- end }}
{{- $leader := dig "leader" "enabled" false .Values.config }}
{{- if and (gt (int .Values.replicaCount) 1) (not $leader) }}
{{- fail (printf "%sreplicaCount > 1 needs leader election: set config.leader.enabled=true (and a lease table)" $where) }}
{{- end }}
{{- $grace := dig "shutdown_grace_seconds" 20 .Values.config }}
{{- if le (int .Values.terminationGracePeriodSeconds) (int $grace) }}
{{- fail (printf "%sterminationGracePeriodSeconds (%v) must exceed config.shutdown_grace_seconds (%v)" $where .Values.terminationGracePeriodSeconds $grace) }}
{{- end }}
{{- end }}

{{/*
Refuse a `shards` list that would deploy shards doing one another's work (see
docs/organization.md): names must be unique (they name the objects and select the pods),
shards electing a leader need their own `leader.lease_name` (leases of one name in one
`leader.table` of one `region` contend),
no two shards may poll one `queue_url` (a shard deletes the events of accounts it does not
serve), and shards of one `region` serve disjoint `accounts` (no accounts means every
account, so such a shard must be its region's only one). Shards need the chart's
ConfigMaps: `existingConfigMap` would give them one configuration.
*/}}
{{- define "ddb-backupd.validateShards" -}}
{{- if .Values.shards }}
{{- if .Values.existingConfigMap }}
{{- fail "shards need the chart's ConfigMaps (one configuration per shard): unset existingConfigMap" }}
{{- end }}
{{- $out := dict }}
{{- $_ := include "ddb-backupd.contexts" (dict "root" . "out" $out) }}
{{- $names := dict }}
{{- $leases := dict }}
{{- $queues := dict }}
{{- $served := dict }}
{{- range $out.contexts }}
{{- $name := .Shard }}
{{- if hasKey $names $name }}
{{- fail (printf "shards: the name %s is given twice (each shard names its own Deployment and ConfigMap)" $name) }}
{{- end }}
{{- $_ := set $names $name true }}
{{- $unit := include "ddb-backupd.unitName" . }}
{{- if gt (len $unit) 63 }}
{{- fail (printf "shard %s: the object name %s is longer than 63 characters: shorten the shard's name or fullnameOverride" $name $unit) }}
{{- end }}
{{- $config := .Values.config }}
{{- $region := get $config "region" | default "us-east-1" }}
{{- if dig "leader" "enabled" false $config }}
{{- $lease := dig "leader" "lease_name" "ddb-backupd" $config }}
{{- $table := dig "leader" "table" "ddb-backupd-leader" $config }}
{{- $key := printf "%s/%s/%s" $region $table $lease }}
{{- with get $leases $key }}
{{- fail (printf "shards %s and %s both elect their leader with leader.lease_name %s in the table %s of %s: give each shard its own lease_name" . $name $lease $table $region) }}
{{- end }}
{{- $_ := set $leases $key $name }}
{{- end }}
{{- with get $config "queue_url" }}
{{- with get $queues . }}
{{- fail (printf "shards %s and %s both poll queue_url %s: give each shard its own queue (a shard deletes the events of accounts it does not serve)" . $name (get $config "queue_url")) }}
{{- end }}
{{- $_ := set $queues . $name }}
{{- end }}
{{- $accounts := get $config "accounts" | default list }}
{{- $inRegion := get $served $region | default dict }}
{{- range $other, $theirs := $inRegion }}
{{- if or (not $accounts) (not $theirs) }}
{{- fail (printf "shards %s and %s overlap in region %s: a shard without config.accounts serves every account, so it must be its region's only shard; give each shard of the region its accounts" $other $name $region) }}
{{- end }}
{{- range $accounts }}
{{- if has (toString .) $theirs }}
{{- fail (printf "shards %s and %s both serve account %s in region %s: shards of one region serve disjoint accounts" $other $name (toString .) $region) }}
{{- end }}
{{- end }}
{{- end }}
{{- $_ := set $inRegion $name ($accounts | toStrings) }}
{{- $_ := set $served $region $inRegion }}
{{- end }}
{{- end }}
{{- end }}
