"""Chinese personal data for the demo: names, mobile numbers, cities, addresses, birthdays.

Every function draws from a numpy ``Generator`` and works on whole arrays, so a million
customers cost a few vectorised passes, and the same generator state gives the same values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from yutang.demo.draws import IntegerArray, choose, unique_draws

# Surnames with their approximate share of the population (per mille, after the 2020 census
# lists); normalised before use. A few compound surnames keep the tail realistic.
SURNAME_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("王", 71.2), ("李", 70.0), ("张", 67.4), ("刘", 51.0), ("陈", 46.1), ("杨", 32.2),
    ("黄", 24.5), ("赵", 22.9), ("吴", 20.5), ("周", 19.3), ("徐", 14.5), ("孙", 13.8),
    ("马", 12.9), ("朱", 12.8), ("胡", 11.6), ("郭", 11.4), ("何", 10.6), ("林", 10.2),
    ("罗", 10.0), ("高", 9.9), ("郑", 8.7), ("梁", 8.5), ("谢", 7.7), ("宋", 7.0),
    ("唐", 6.9), ("许", 6.6), ("韩", 6.5), ("邓", 6.4), ("冯", 6.4), ("曹", 6.3),
    ("彭", 6.0), ("曾", 5.9), ("肖", 5.6), ("田", 5.5), ("董", 5.3), ("潘", 5.2),
    ("袁", 5.1), ("蔡", 5.0), ("蒋", 4.9), ("余", 4.8), ("于", 4.8), ("杜", 4.7),
    ("叶", 4.6), ("程", 4.5), ("魏", 4.4), ("苏", 4.3), ("吕", 4.2), ("丁", 4.2),
    ("任", 4.1), ("卢", 4.0), ("姚", 3.9), ("沈", 3.9), ("钟", 3.8), ("姜", 3.7),
    ("崔", 3.6), ("谭", 3.5), ("陆", 3.4), ("范", 3.3), ("汪", 3.3), ("廖", 3.2),
    ("石", 3.2), ("金", 3.1), ("韦", 3.0), ("贾", 3.0), ("夏", 2.9), ("付", 2.9),
    ("方", 2.8), ("邹", 2.7), ("熊", 2.7), ("白", 2.6), ("孟", 2.6), ("秦", 2.5),
    ("邱", 2.5), ("侯", 2.4), ("江", 2.4), ("尹", 2.3), ("薛", 2.3), ("闫", 2.2),
    ("段", 2.2), ("雷", 2.1), ("龙", 2.0), ("黎", 2.0), ("史", 2.0), ("陶", 1.9),
    ("贺", 1.9), ("毛", 1.8), ("郝", 1.8), ("顾", 1.7), ("龚", 1.7), ("邵", 1.7),
    ("万", 1.6), ("覃", 1.6), ("武", 1.6), ("钱", 1.5), ("戴", 1.5), ("严", 1.5),
    ("莫", 1.4), ("孔", 1.4), ("向", 1.4), ("常", 1.3), ("欧阳", 0.5), ("上官", 0.1),
    ("司马", 0.1), ("诸葛", 0.1), ("东方", 0.1),
)

FEMALE_CHARACTERS = tuple(
    "芳娜敏静丽艳娟霞秀燕玲桂丹萍红玉兰婷雪慧琳颖倩欣怡梦佳雨思涵萱可诗月晶洁琴云莉璐瑶悦彤妍蕾薇岚琪馨"
)
MALE_CHARACTERS = tuple(
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林阳文博睿轩晨泽然航峰建国志海东亮诚毅昊铭哲"
)
NEUTRAL_CHARACTERS = tuple("子晓一嘉安欣文思雨宇晨佳小永春秋金新乐天")

SINGLE_CHARACTER_GIVEN_NAME_SHARE = 0.22

# Mainland mobile prefixes by carrier (China Mobile, China Unicom, China Telecom).
MOBILE_PREFIXES: tuple[tuple[int, float], ...] = (
    *((prefix, 0.60 / 17) for prefix in (134, 135, 136, 137, 138, 139, 147, 150, 151, 152,
                                         157, 158, 159, 178, 182, 187, 188)),
    *((prefix, 0.22 / 9) for prefix in (130, 131, 132, 155, 156, 166, 175, 185, 186)),
    *((prefix, 0.18 / 9) for prefix in (133, 153, 173, 177, 180, 181, 189, 191, 199)),
)
MOBILE_SUBSCRIBER_NUMBERS = 10**8


@dataclass(frozen=True)
class City:
    name: str
    """The short name shown on stores (上海)."""
    address_prefix: str
    """Province and city as written in an address (浙江省杭州市)."""
    region_code: str
    districts: tuple[str, ...]


REGION_NAMES: dict[str, str] = {
    "EAST": "华东大区",
    "NORTH": "华北大区",
    "SOUTH": "华南大区",
    "SOUTHWEST": "西南大区",
    "CENTRAL": "华中大区",
}

# The order stores are opened in: the chain starts in Shanghai and spreads.
CITIES: tuple[City, ...] = (
    City("上海", "上海市", "EAST", ("徐汇区", "静安区", "浦东新区", "长宁区", "杨浦区", "闵行区")),
    City("北京", "北京市", "NORTH", ("朝阳区", "海淀区", "东城区", "西城区", "丰台区")),
    City("杭州", "浙江省杭州市", "EAST", ("西湖区", "上城区", "拱墅区", "滨江区", "余杭区")),
    City("深圳", "广东省深圳市", "SOUTH", ("南山区", "福田区", "罗湖区", "宝安区", "龙华区")),
    City("广州", "广东省广州市", "SOUTH", ("天河区", "越秀区", "海珠区", "番禺区")),
    City("南京", "江苏省南京市", "EAST", ("鼓楼区", "玄武区", "秦淮区", "建邺区")),
    City("成都", "四川省成都市", "SOUTHWEST", ("锦江区", "武侯区", "青羊区", "成华区")),
    City("武汉", "湖北省武汉市", "CENTRAL", ("江汉区", "武昌区", "洪山区", "江岸区")),
    City("苏州", "江苏省苏州市", "EAST", ("姑苏区", "吴中区", "相城区")),
    City("重庆", "重庆市", "SOUTHWEST", ("渝中区", "江北区", "南岸区", "渝北区")),
    City("长沙", "湖南省长沙市", "CENTRAL", ("岳麓区", "芙蓉区", "天心区")),
    City("天津", "天津市", "NORTH", ("和平区", "南开区", "河西区")),
)

ROADS = (
    "人民路", "中山路", "解放路", "建设路", "和平路", "新华路", "长江路", "黄河路", "文化路",
    "学府路", "复兴路", "光明路", "友谊路", "青年路", "胜利路", "东风路", "朝阳路", "滨江路",
)

OLDEST_BIRTHDAY = np.datetime64("1955-01-01", "D")
YOUNGEST_BIRTHDAY = np.datetime64("2006-12-31", "D")

StringArray = NDArray[np.str_]


def _pick(rng: np.random.Generator, choices: tuple[str, ...], count: int) -> StringArray:
    return np.asarray(choices)[rng.integers(0, len(choices), count)]


def draw_names(rng: np.random.Generator, female: NDArray[np.bool_]) -> list[str]:
    """Full names whose given-name characters suit the person's gender."""
    count = len(female)
    surnames, weights = zip(*SURNAME_WEIGHTS, strict=True)
    surname = np.asarray(surnames)[choose(rng, weights, count)]
    own_last = np.where(female, _pick(rng, FEMALE_CHARACTERS, count),
                        _pick(rng, MALE_CHARACTERS, count))
    own_first = np.where(female, _pick(rng, FEMALE_CHARACTERS, count),
                         _pick(rng, MALE_CHARACTERS, count))
    neutral_first = _pick(rng, NEUTRAL_CHARACTERS, count)
    first = np.where(rng.random(count) < 0.4, neutral_first, own_first)
    single = rng.random(count) < SINGLE_CHARACTER_GIVEN_NAME_SHARE
    given = np.where(single, own_last, np.strings.add(first, own_last))
    names: list[str] = np.strings.add(surname, given).tolist()
    return names


def _mobile_numbers(rng: np.random.Generator, count: int) -> IntegerArray:
    prefixes, weights = zip(*MOBILE_PREFIXES, strict=True)
    prefix = np.asarray(prefixes, dtype=np.int64)[choose(rng, weights, count)]
    return prefix * MOBILE_SUBSCRIBER_NUMBERS + rng.integers(
        0, MOBILE_SUBSCRIBER_NUMBERS, count, dtype=np.int64
    )


def draw_mobile_numbers(rng: np.random.Generator, count: int) -> list[str]:
    """Distinct 11-digit mainland mobile numbers with real carrier prefixes."""
    numbers: list[str] = unique_draws(rng, count, _mobile_numbers).astype(str).tolist()
    return numbers


def draw_addresses(rng: np.random.Generator, city_index: IntegerArray) -> list[str]:
    """One street address in each given city (an index into ``CITIES``), in one of its districts."""
    count = len(city_index)
    district_counts = np.asarray([len(city.districts) for city in CITIES])
    district_offsets = np.concatenate(([0], np.cumsum(district_counts)[:-1]))
    all_districts = np.asarray([district for city in CITIES for district in city.districts])
    chosen_district = (rng.random(count) * district_counts[city_index]).astype(np.int64)
    prefixes = np.asarray([city.address_prefix for city in CITIES])[city_index].tolist()
    districts = all_districts[district_offsets[city_index] + chosen_district].tolist()
    roads = _pick(rng, ROADS, count).tolist()
    numbers = rng.integers(1, 999, count).tolist()
    buildings = rng.integers(1, 30, count).tolist()
    rooms = (rng.integers(1, 33, count) * 100 + rng.integers(1, 5, count)).tolist()
    return [
        f"{prefix}{district}{road}{number}号{building}栋{room}室"
        for prefix, district, road, number, building, room in zip(
            prefixes, districts, roads, numbers, buildings, rooms, strict=True
        )
    ]


def draw_birthdays(rng: np.random.Generator, count: int) -> list[str]:
    """ISO dates (YYYY-MM-DD) of adults born between 1955 and 2006."""
    span = int((YOUNGEST_BIRTHDAY - OLDEST_BIRTHDAY).astype(np.int64))
    days = OLDEST_BIRTHDAY + rng.integers(0, span + 1, count).astype("timedelta64[D]")
    birthdays: list[str] = np.datetime_as_string(days, unit="D").tolist()
    return birthdays
