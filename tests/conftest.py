import pytest
from playwright.sync_api import sync_playwright
from sites import build, build_env, render
from variants import VARIANTS


@pytest.fixture(scope="session")
def rendered_site(tmp_path_factory):
    """Render a variant once per session: rendered_site("defaults") -> the site repo's Path."""
    cache = {}

    def get(variant: str):
        if variant not in cache:
            dest = tmp_path_factory.mktemp(variant) / "site"
            cache[variant] = render(dest, **VARIANTS[variant])
        return cache[variant]

    return get


@pytest.fixture(scope="session")
def built_site(rendered_site):
    """Build a variant once per session, in the environment its environment.yml pins."""
    cache = {}

    def get(variant: str):
        if variant not in cache:
            site = rendered_site(variant)
            build(site, build_env(site))
            cache[variant] = site
        return cache[variant]

    return get


@pytest.fixture(scope="session")
def default_site(built_site):
    """The site repo rendered with every default answer and built into _output/."""
    return built_site("defaults")


@pytest.fixture(scope="session")
def playwright():
    """One Playwright for the session: a second one cannot start while the first runs."""
    with sync_playwright() as running:
        yield running
