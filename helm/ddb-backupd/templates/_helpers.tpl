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

{{/* Labels the Deployment, Service, PDB and NetworkPolicy select pods by. */}}
{{- define "ddb-backupd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ddb-backupd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
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
{{- .Values.existingConfigMap | default (include "ddb-backupd.fullname" .) }}
{{- end }}

{{/*
Refuse values that would deploy something broken: more than one replica without leader
election (two schedulers), or a grace period the daemon's drain does not fit in.
*/}}
{{- define "ddb-backupd.validate" -}}
{{- $leader := dig "leader" "enabled" false .Values.config }}
{{- if and (gt (int .Values.replicaCount) 1) (not $leader) }}
{{- fail "replicaCount > 1 needs leader election: set config.leader.enabled=true (and a lease table)" }}
{{- end }}
{{- $grace := dig "shutdown_grace_seconds" 20 .Values.config }}
{{- if le (int .Values.terminationGracePeriodSeconds) (int $grace) }}
{{- fail (printf "terminationGracePeriodSeconds (%v) must exceed config.shutdown_grace_seconds (%v)" .Values.terminationGracePeriodSeconds $grace) }}
{{- end }}
{{- end }}
