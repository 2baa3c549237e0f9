"""The server-rendered SVG charts: colours by days of cover, escaped tooltips, the sparkline."""

import re

import pytest

from inventory.charts import (
    AMBER,
    GREEN,
    GREY,
    RED,
    LandscapeBar,
    cover_colour,
    sparkline_svg,
    stock_landscape_svg,
)


@pytest.mark.parametrize(
    ("days", "colour"),
    [(0.0, RED), (2.99, RED), (3.0, AMBER), (6.9, AMBER), (7.0, GREEN), (120.0, GREEN), (None, GREY)],
)
def test_cover_colour_bands(days, colour):
    assert cover_colour(days) == colour


def test_each_bar_is_coloured_by_its_days_of_cover_and_says_so_in_its_tooltip():
    # given four SKUs: critical, warning, fine, never sells
    bars = [
        LandscapeBar(label="Lip Oil", code="LO-1", available=4, days_of_cover=1.5, url="/inventory/skus/1/"),
        LandscapeBar(label="Toner", code="TN-1", available=40, days_of_cover=5.0),
        LandscapeBar(label="Serum", code="SR-1", available=400, days_of_cover=30.0),
        LandscapeBar(label="Sample", code="SM-1", available=9, days_of_cover=None),
    ]

    # when
    svg = str(stock_landscape_svg(bars))

    # then one rect per SKU in order, each with its colour and a tooltip
    fills = re.findall(r'<rect [^>]*fill="([^"]+)"', svg)
    assert fills == [RED, AMBER, GREEN, GREY]
    titles = re.findall(r"<title>([^<]*)</title>", svg)
    assert titles[0] == "Lip Oil (LO-1): 4 available, 1.5 days of cover"
    assert titles[3] == "Sample (SM-1): 9 available, no recent sales"
    assert '<a href="/inventory/skus/1/">' in svg and svg.count("<a ") == 1
    # the tallest bar is the biggest stock, and an empty one is still visible
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg)]
    assert max(heights) == heights[2] and min(heights) >= 2.0


def test_text_in_the_chart_is_escaped():
    # given a product name that looks like markup
    bars = [
        LandscapeBar(
            label='<script>alert("x")</script>',
            code="A&B",
            available=0,
            days_of_cover=0.0,
            url='/x?a=1&b="2"',
        )
    ]

    # when
    svg = str(stock_landscape_svg(bars))

    # then
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; (A&amp;B)" in svg
    assert 'href="/x?a=1&amp;b=&quot;2&quot;"' in svg


def test_empty_inputs_give_no_chart():
    assert str(stock_landscape_svg([])) == "" and str(sparkline_svg([])) == ""


def test_the_sparkline_plots_each_hour_with_a_tooltip():
    # given 48 hours, the last one busiest
    values = [0] * 46 + [3, 6]

    # when
    svg = str(sparkline_svg(values, unit="units sold"))

    # then
    points = re.search(r'<polyline points="([^"]+)"', svg).group(1).split()
    assert len(points) == 48
    assert points[-1].endswith(",2.0")  # the peak touches the top padding
    assert "<title>6 units sold, this hour</title>" in svg and "<title>3 units sold, 1 h ago</title>" in svg
    assert 'aria-label="9 units sold in the last 48 hours, peak 6 an hour"' in svg
