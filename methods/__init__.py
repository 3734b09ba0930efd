"""Generative methods: one file per method, each registered by name with `@register_method`."""
