"""Settings: one typed tree, loaded once in `main()` and passed down."""
