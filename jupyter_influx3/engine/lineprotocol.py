"""Line protocol parsing (placeholder: being written)."""
