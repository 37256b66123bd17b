"""What a page shows as its own words in the English interface (issue 17 point 15): the text of its
title, headings, buttons, links of its menus, table captions and headers, labels and options; data
(provider, indicator and service names, people) is read from cells, which these leave out."""

from __future__ import annotations

import html
import re

from django.test import Client


def chrome(page: str) -> str:
    """The page's own words: the text of the title, headings, buttons, captions, column headers, labels and options, and of its navigation's links, and
    aria-labels; the site's top menu and footer (translated on branch ux17) are left out."""
    main = page.split("<main", 1)[-1].split("</main>", 1)[0]
    title = re.findall(r"<title>(.*?)</title>", page, re.S)
    texts = title + re.findall(r"<(?:h1|h2|h3|button|caption|label|option)\b[^>]*>(.*?)</", main, re.S)
    texts += re.findall(r'<th scope="col"[^>]*>(.*?)</th>', main, re.S)  # a row's header is data
    texts += re.findall(r'aria-label="([^"]*)"', main)
    texts += re.findall(r'<a class="button[^"]*"[^>]*>(.*?)</a>', main, re.S)
    for nav in re.findall(r'<nav class="subnav".*?</nav>', main, re.S):
        texts += re.findall(r">([^<]+)</a>", nav)
    text = " | ".join(html.unescape(re.sub(r"<[^>]+>", " ", t)).strip() for t in texts)
    return re.sub(r"Utförare (?=[A-Z0-9]+\b)", "", text)  # the test data's provider names are data


def english_and_swedish(client: Client, path: str) -> tuple[str, str]:
    """The page at ``path`` in Swedish (the default) and in English (the language switch's cookie)."""
    client.cookies.pop("django_language", None)
    swedish = client.get(path)
    assert swedish.status_code == 200, path
    client.cookies["django_language"] = "en"
    english = client.get(path)
    assert english.status_code == 200, path
    client.cookies.pop("django_language", None)
    return swedish.content.decode(), english.content.decode()


def swedish_left(words: tuple[str, ...], text: str) -> list[str]:
    """The words of ``words`` that ``text`` still has (as words: "Avtal" does not match "Avtalet")."""
    return [w for w in words if re.search(rf"(?<!\w){re.escape(w)}", text)]
