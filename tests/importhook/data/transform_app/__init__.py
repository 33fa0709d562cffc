"""A small application for the call-site scanner: each ``# site: KIND`` comment marks a site."""
