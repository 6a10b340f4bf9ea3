"""The generated packages (generated/): clients, models, serde, exports."""
