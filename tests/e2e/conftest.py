"""End-to-end tests: Debian's Chromium driven by Playwright against pytest-django's live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.personas import world  # noqa: F401

CHROMIUM = os.environ.get("UTFALL_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
AXE_SOURCE = AXE.read_text(encoding="utf-8")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# Playwright runs its own event loop in this thread; Django's ORM calls in the test are fine.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module: Playwright's sync API allows one running instance per
    thread, so it is closed before another module's browser tests start theirs."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} saknas: end-to-end-testerna krävs i CI")
        pytest.skip(
            f"{CHROMIUM} saknas: end-to-end-testerna hoppas över (./dev test installerar den som root)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


class Journey:
    """One user in one browser context, checking every page it looks at."""

    def __init__(self, browser: Any, base_url: str, name: str, width: int = 1280) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": 900}, locale="sv-SE")
        self.page = self.context.new_page()
        self.base_url, self.name, self.width = base_url, name, width
        self.console_errors: list[str] = []
        self.page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        self.shots: list[Path] = []

    def goto(self, path: str) -> None:
        self.page.goto(self.base_url + path)

    def check(self, label: str, *, screenshot: bool = True) -> None:
        """Run axe-core (WCAG 2.1 A/AA) on the page and save a full-page screenshot (unless told not to:
        a long walk saves its time)."""
        self.page.wait_for_load_state("load")
        if not self.page.evaluate("!!window.axe"):
            # Evaluated through the DevTools protocol: the page's CSP stays on and is checked below.
            self.page.evaluate(AXE_SOURCE + "\n;0")
        result = self.page.evaluate(
            "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
        )
        violations = [
            f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]
        ]
        if screenshot:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shot = SCREENSHOTS / f"{self.name}-{self.width}-{len(self.shots):02d}-{label}.png"
            self.page.screenshot(path=str(shot), full_page=True)
            self.shots.append(shot)
        assert not violations, f"{label}: " + "; ".join(violations)
        csp = [e for e in self.console_errors if "Content Security Policy" in e or "Refused" in e]
        assert not csp, csp

    def close(self) -> None:
        self.context.close()
