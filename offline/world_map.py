"""Write pipeline/runtime/web_static/world.json: the countries of Natural Earth's 1:110m admin-0 shapefile
(public domain, https://www.naturalearthdata.com/about/terms-of-use/) as SVG path strings in an
equirectangular projection (x = longitude + 180, y = 90 - latitude, a 360 x 180 box), simplified
(Douglas-Peucker, `--tolerance` degrees) and rounded to 0.1 degree, so `newsfeed web` draws its map
offline with no tile server and no library.

Source: the same naturalearth_lowres shapefile inside the geopandas 0.14.4 wheel as offline/country_points.py:

    pip download geopandas==0.14.4 --no-deps -d /tmp/ne
    python offline/world_map.py /tmp/ne/geopandas-0.14.4-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from country_points import country_code, open_reader

OUT = Path(__file__).resolve().parent.parent / "pipeline" / "runtime" / "web_static" / "world.json"


def simplify(points: list[tuple[float, float]], tolerance: float) -> list[tuple[float, float]]:
    """Douglas-Peucker, iterative: the points that stay within `tolerance` of the kept line are dropped."""
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (x0, y0), (x1, y1) = points[first], points[last]
        dx, dy = x1 - x0, y1 - y0
        norm = (dx * dx + dy * dy) ** 0.5
        worst, at = -1.0, -1
        for i in range(first + 1, last):
            x, y = points[i]
            dist = abs(dy * (x - x0) - dx * (y - y0)) / norm if norm else ((x - x0) ** 2 + (y - y0) ** 2) ** 0.5
            if dist > worst:
                worst, at = dist, i
        if at >= 0 and worst > tolerance:
            keep[at] = True
            stack += [(first, at), (at, last)]
    return [p for p, k in zip(points, keep) if k]


def ring_path(ring: list[tuple[float, float]], tolerance: float) -> str:
    kept = simplify(ring, tolerance)
    projected = []
    for lon, lat in kept:
        point = (round(lon + 180, 1), round(90 - lat, 1))
        if not projected or projected[-1] != point:
            projected.append(point)
    if len(projected) < 4:   # an islet smaller than the tolerance: not drawn
        return ""
    return "M" + "L".join(f"{x:g},{y:g}" for x, y in projected) + "Z"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("wheel", type=Path, help="geopandas-0.14.4-py3-none-any.whl")
    parser.add_argument("--tolerance", type=float, default=0.15, help="degrees")
    args = parser.parse_args()
    countries = []
    for shape_record in open_reader(args.wheel).iterShapeRecords():
        record = shape_record.record.as_dict()
        shape = shape_record.shape
        bounds = list(shape.parts) + [len(shape.points)]
        path = "".join(ring_path(shape.points[a:b], args.tolerance) for a, b in zip(bounds, bounds[1:]))
        if path:
            countries.append({"code": country_code(record), "name": record["name"], "d": path})
    countries.sort(key=lambda c: c["name"])
    OUT.write_text(json.dumps({"source": "Natural Earth 1:110m admin-0 countries (public domain), via "
                                         "offline/world_map.py", "box": [0, 0, 360, 180], "countries": countries},
                              separators=(",", ":"), ensure_ascii=False) + "\n")
    print(f"{OUT}: {len(countries)} countries, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
