"""The organisation: regions and stores."""
