"""A screenshot of a running `newsfeed web` page (the README's docs/web.png), in Debian's Chromium:

    .venv/bin/newsfeed run seeds/ bench/fixtures/stories_multilingual.jsonl --web --web-port 8080 &
    .venv/bin/python offline/web_screenshot.py http://127.0.0.1:8080/ docs/web.png --stories 14

It waits for `--stories` rows, selects the largest story that has places (its articles, people, places and
markers show) and saves the page.
"""

from __future__ import annotations

import argparse

from playwright.sync_api import sync_playwright


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("out")
    parser.add_argument("--stories", type=int, default=1, help="wait until the page lists this many")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(args.url)
        page.wait_for_function(f"() => document.querySelectorAll('#stories tbody tr').length >= {args.stories}",
                               timeout=120_000)
        page.wait_for_selector("#markers circle", timeout=30_000)
        sizes = page.eval_on_selector_all("#stories tbody tr", "rows => rows.map(r => Number(r.cells[3].textContent))")
        for row in sorted(range(len(sizes)), key=lambda i: -sizes[i]):   # the largest story with places
            story = page.get_attribute(f"#stories tbody tr:nth-child({row + 1})", "data-id")
            page.click(f"#stories tbody tr[data-id='{story}']")
            page.wait_for_function(f"() => document.querySelector('#stories tr.selected')?.dataset.id === '{story}'"
                                   " && document.getElementById('map-note').textContent.includes('selected story')")
            if page.locator("#markers circle").count():
                break
            page.click(f"#stories tbody tr[data-id='{story}']")   # unselect
        page.screenshot(path=args.out, full_page=True)
        browser.close()
    print(f"{args.out}: {len(sizes)} stories listed")


if __name__ == "__main__":
    main()
