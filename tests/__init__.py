"""The test suite; its folders mirror the source layout."""
