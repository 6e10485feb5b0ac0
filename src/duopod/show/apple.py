"""What Apple Podcasts requires of a show: its category list and its cover art."""

from __future__ import annotations

import struct
from pathlib import Path

from ..errors import InputError

CATEGORIES: dict[str, tuple[str, ...]] = {
    "Arts": ("Books", "Design", "Fashion & Beauty", "Food", "Performing Arts", "Visual Arts"),
    "Business": ("Careers", "Entrepreneurship", "Investing", "Management", "Marketing",
                 "Non-Profit"),
    "Comedy": ("Comedy Interviews", "Improv", "Stand-Up"),
    "Education": ("Courses", "How To", "Language Learning", "Self-Improvement"),
    "Fiction": ("Comedy Fiction", "Drama", "Science Fiction"),
    "Government": (),
    "History": (),
    "Health & Fitness": ("Alternative Health", "Fitness", "Medicine", "Mental Health",
                         "Nutrition", "Sexuality"),
    "Kids & Family": ("Education for Kids", "Parenting", "Pets & Animals", "Stories for Kids"),
    "Leisure": ("Animation & Manga", "Automotive", "Aviation", "Crafts", "Games", "Hobbies",
                "Home & Garden", "Video Games"),
    "Music": ("Music Commentary", "Music History", "Music Interviews"),
    "News": ("Business News", "Daily News", "Entertainment News", "News Commentary",
             "Politics", "Sports News", "Tech News"),
    "Religion & Spirituality": ("Buddhism", "Christianity", "Hinduism", "Islam", "Judaism",
                                "Religion", "Spirituality"),
    "Science": ("Astronomy", "Chemistry", "Earth Sciences", "Life Sciences", "Mathematics",
                "Natural Sciences", "Nature", "Physics", "Social Sciences"),
    "Society & Culture": ("Documentary", "Personal Journals", "Philosophy", "Places & Travel",
                          "Relationships"),
    "Sports": ("Baseball", "Basketball", "Cricket", "Fantasy Sports", "Football", "Golf",
               "Hockey", "Rugby", "Running", "Soccer", "Swimming", "Tennis", "Volleyball",
               "Wilderness", "Wrestling"),
    "Technology": (),
    "True Crime": (),
    "TV & Film": ("After Shows", "Film History", "Film Interviews", "Film Reviews",
                  "TV Reviews"),
}

COVER_MIN, COVER_MAX = 1400, 3000


def check_category(category: str, subcategory: str | None, path: Path) -> None:
    if category not in CATEGORIES:
        allowed = ", ".join(CATEGORIES)
        raise InputError(f"field 'category': {category!r} is not an Apple Podcasts category "
                         f"(allowed: {allowed})", path)
    if subcategory is not None and subcategory not in CATEGORIES[category]:
        allowed = ", ".join(CATEGORIES[category]) or "none"
        raise InputError(f"field 'subcategory': {subcategory!r} is not a subcategory of "
                         f"{category!r} (allowed: {allowed})", path)


def image_size(data: bytes) -> tuple[str, int, int] | None:
    """(format, width, height) of a PNG or JPEG, read from its header; None otherwise."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return "png", width, height
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            length = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD,
                          0xCE, 0xCF):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return "jpeg", width, height
            i += 2 + length
    return None


def check_cover(cover: Path, path: Path) -> None:
    """Apple wants a square PNG or JPEG from 1400 to 3000 pixels a side."""
    size = image_size(cover.read_bytes())
    if size is None:
        raise InputError(f"field 'cover': {cover.name} is not a valid PNG or JPEG image", path)
    kind, width, height = size
    if width != height or not COVER_MIN <= width <= COVER_MAX:
        raise InputError(
            f"field 'cover': {cover.name} is {width}x{height} {kind.upper()}; podcast apps "
            f"need a square image from {COVER_MIN} to {COVER_MAX} pixels a side", path,
        )
