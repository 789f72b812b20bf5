"""The HTTP edge: turning Chalice requests into service calls and errors into one shape."""
