"""The dashboard's API, one router per resource."""
