"""tqdm progress bars for the examples, when tqdm is installed (the ``examples`` extra)."""


def progress(iterable, **kwargs):
    """``tqdm(iterable, **kwargs)`` when tqdm is installed, else the iterable itself."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, **kwargs)
