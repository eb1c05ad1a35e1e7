"""Deterministic made-up residents for benchmarks (valid ID numbers that belong to nobody)."""

from __future__ import annotations

import datetime as dt
import random

from enrollment import id_number as idn
from enrollment.text import pinyin_keys

SURNAMES = "王李张刘陈杨黄赵吴周徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
GIVEN = ["明学", "建国", "志强", "德华", "永福", "国平", "文军", "海波", "家兴", "秀英", "桂兰", "玉梅", "淑珍",
         "丽华", "春燕", "小红", "芳", "婷", "雨涵", "欣怡", "思琪", "𠈌芬", "慧", "勇", "俊杰", "子豪", "宇轩", "成"]
REGIONS = ["510902", "510903", "510904", "510921", "510923", "510922"]


def residents(n: int, *, seed: int = 7, villages: int = 50):
    rnd = random.Random(seed)
    used: set[str] = set()
    for i in range(n):
        while True:
            birth = dt.date(rnd.randint(1935, 2020), rnd.randint(1, 12), rnd.randint(1, 28))
            number = idn.make(rnd.choice(REGIONS), birth, rnd.randint(0, 999))
            if number not in used:
                used.add(number)
                break
        name = rnd.choice(SURNAMES) + rnd.choice(GIVEN)
        village = f"5109031022{(i % villages):02d}"
        yield {
            "id_number": number, "name": name, "sex": "男" if int(number[16]) % 2 else "女",
            "birth_date": birth.isoformat(), "village_code": village,
            "household_id": f"{village}{i // 4:05d}", "relation": "户主" if i % 4 == 0 else "子女",
            "address": f"大石村{i % 9 + 1}组", "phone": "",
        }


def typing_sequences(sample: list[dict]) -> list[list[str]]:
    """What a cadre types: a name character by character, its pinyin initials, an ID number's digits."""
    seqs = []
    for r in sample:
        name = r["name"]
        seqs.append([name[: i + 1] for i in range(len(name))])
        _full, initials = pinyin_keys(name)
        seqs.append([initials[: i + 1] for i in range(len(initials))])
        seqs.append([r["id_number"][: i + 1] for i in range(4, 18, 2)])
        seqs.append([r["id_number"][-4:]])
    return seqs
