"""Static files in production: hashed names and compressed copies (whitenoise)."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class Storage(CompressedManifestStaticFilesStorage):
    """Vendored bundles (vega) name source maps they do not ship; JavaScript is therefore not
    rewritten (only CSS ``url()`` references are), and a missing map is not an error."""

    patterns = tuple(
        (glob, rules) for glob, rules in CompressedManifestStaticFilesStorage.patterns if glob != "*.js"
    )
