"""Synthetic real-time-bidding requests with a known click-through ground truth.

Each row is one bid request described by 30 numeric features (time, device, ad slot, price,
user recency and frequency, placement history, site category one-hots). Clicks are drawn from a
logistic model of those features, with interactions and unobserved noise, so a learner can
approach but never reach the true probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

FloatArray = np.ndarray[Any, np.dtype[np.float64]]

SITE_CATEGORIES = (
    "news",
    "sports",
    "gaming",
    "shopping",
    "tech",
    "travel",
    "finance",
    "entertainment",
    "other",
)
FEATURE_NAMES = (
    "hour_of_day",
    "day_of_week",
    "device_type",  # 0 desktop, 1 phone, 2 tablet, 3 connected TV
    "os_family",
    "connection_type",  # 0 wifi, 1 cellular, 2 wired
    "is_app",
    "slot_width",
    "slot_height",
    "above_fold",
    "is_video",
    "floor_price_cpm",
    "viewability_est",
    "publisher_hist_ctr",
    "advertiser_hist_ctr",
    "creative_age_days",
    "user_recency_hours",
    "user_visits_7d",
    "user_impressions_24h",
    "user_clicks_30d",
    "geo_tier",
    "session_depth",
    *(f"site_{name}" for name in SITE_CATEGORIES),
)
_COLUMN = {name: index for index, name in enumerate(FEATURE_NAMES)}
_SLOT_SIZES = np.array([[300, 250], [320, 50], [728, 90], [160, 600], [336, 280], [970, 250]])
_SLOT_WEIGHTS = np.array([0.35, 0.25, 0.15, 0.1, 0.1, 0.05])
_CATEGORY_WEIGHTS = np.array([0.18, 0.1, 0.12, 0.16, 0.1, 0.07, 0.07, 0.12, 0.08])
_CATEGORY_EFFECTS = np.array([-0.25, 0.05, 0.3, 0.4, 0.1, 0.15, -0.15, 0.2, -0.1])


@dataclass(frozen=True)
class BidRequests:
    """Features (one row per bid request), true click probabilities and drawn click labels."""

    features: FloatArray
    click_probability: FloatArray
    clicked: FloatArray


def synthetic_bid_requests(count: int, seed: int) -> BidRequests:
    """Draw ``count`` bid requests and their clicks; equal seeds give equal data."""
    rng = np.random.default_rng(seed)
    x = np.zeros((count, len(FEATURE_NAMES)))

    def put(name: str, values: Any) -> None:
        x[:, _COLUMN[name]] = values

    put("hour_of_day", rng.integers(0, 24, count))
    put("day_of_week", rng.integers(0, 7, count))
    device = rng.choice(4, count, p=[0.35, 0.45, 0.12, 0.08])
    put("device_type", device)
    put("os_family", np.where(device == 0, rng.integers(0, 2, count), rng.integers(2, 4, count)))
    put(
        "connection_type",
        np.where(device == 1, rng.integers(0, 2, count), rng.integers(0, 3, count)),
    )
    is_app = (device != 0) & (rng.random(count) < 0.5)
    put("is_app", is_app)
    slot = _SLOT_SIZES[rng.choice(len(_SLOT_SIZES), count, p=_SLOT_WEIGHTS)]
    put("slot_width", slot[:, 0])
    put("slot_height", slot[:, 1])
    put("above_fold", rng.random(count) < 0.4)
    put("is_video", rng.random(count) < np.where(device == 3, 0.9, 0.12))
    put("floor_price_cpm", np.round(rng.lognormal(0.0, 0.7, count), 2))
    put("viewability_est", np.round(rng.beta(4, 3, count), 3))
    put("publisher_hist_ctr", np.round(rng.lognormal(np.log(0.01), 0.5, count), 5))
    put("advertiser_hist_ctr", np.round(rng.lognormal(np.log(0.01), 0.4, count), 5))
    put("creative_age_days", rng.integers(0, 91, count))
    put("user_recency_hours", np.round(rng.exponential(48.0, count), 1))
    put("user_visits_7d", rng.poisson(3.0, count))
    put("user_impressions_24h", rng.poisson(4.0, count))
    put("user_clicks_30d", rng.poisson(0.4, count))
    put("geo_tier", rng.choice([1, 2, 3], count, p=[0.5, 0.3, 0.2]))
    put("session_depth", 1 + rng.poisson(2.0, count))
    category = rng.choice(len(SITE_CATEGORIES), count, p=_CATEGORY_WEIGHTS)
    x[np.arange(count), _COLUMN["site_news"] + category] = 1.0

    probability = 1.0 / (1.0 + np.exp(-(click_logit(x) + rng.normal(0.0, 0.3, count))))
    clicked = (rng.random(count) < probability).astype(np.float64)
    return BidRequests(features=x, click_probability=probability, clicked=clicked)


def click_logit(x: FloatArray) -> FloatArray:
    """The ground-truth log-odds of a click for feature rows ``x`` (before unobserved noise)."""

    def col(name: str) -> FloatArray:
        return x[:, _COLUMN[name]]

    hour, device = col("hour_of_day"), col("device_type")
    evening = np.cos(2 * np.pi * (hour - 20.0) / 24.0)
    area = col("slot_width") * col("slot_height")
    categories = x[:, _COLUMN["site_news"] : _COLUMN["site_news"] + len(SITE_CATEGORIES)]
    logit = (
        -3.3
        + 0.35 * evening
        + np.select([device == 1, device == 2, device == 3], [0.2, 0.1, -0.6], 0.0)
        + 0.15 * col("is_app")
        + 0.25 * np.log(area / (300.0 * 250.0))
        + 0.3 * col("above_fold")
        + 0.4 * col("is_video")
        + 0.15 * np.log(col("floor_price_cpm") + 0.05)
        + 1.2 * (col("viewability_est") - 0.5)
        + 0.5 * np.log(col("publisher_hist_ctr") / 0.01)
        + 0.4 * np.log(col("advertiser_hist_ctr") / 0.01)
        - 0.01 * col("creative_age_days")
        - 0.12 * np.log1p(col("user_recency_hours"))
        + 0.08 * np.minimum(col("user_visits_7d"), 10.0)
        - 0.1 * col("user_impressions_24h")
        + 0.35 * np.log1p(col("user_clicks_30d"))
        + np.select([col("geo_tier") == 1, col("geo_tier") == 3], [0.1, -0.1], 0.0)
        + 0.05 * np.minimum(col("session_depth"), 6.0)
        + categories @ _CATEGORY_EFFECTS
    )
    # Interactions a linear model would miss: shopping in the evening, apps on phones,
    # video on TVs, and ad fatigue that bites harder on users who rarely click.
    shopping = col("site_shopping")
    logit += 0.3 * shopping * (evening > 0.5)
    logit += 0.2 * col("is_app") * (device == 1)
    logit += 0.3 * col("is_video") * (device == 3)
    logit -= 0.05 * col("user_impressions_24h") * (col("user_clicks_30d") == 0)
    return np.asarray(logit, dtype=np.float64)
