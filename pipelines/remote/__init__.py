"""Where providers deliver exports: S3 (AWS CUR). Each reader copies only new or changed
deliveries into landing/, so a night with nothing new re-processes nothing."""


class SourceUnreachable(RuntimeError):
    """A source is configured but cannot be reached or read; the other sources go on."""
