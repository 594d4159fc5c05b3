from __future__ import annotations

import datetime as dt
from typing import Literal
from uuid import UUID

from pydantic import Field

from ..schema_base import Schema
from .people import CATEGORIES as CATEGORIES

Category = Literal["农民工", "就业困难人员", "高校毕业生", "企业职工", "其他"]


class TraineeCreate(Schema):
    name: str = Field(min_length=1, max_length=100)
    id_type: str = Field(
        description="居民身份证 | 港澳台居民居住证 | 台湾居民来往大陆通行证 | 外国人永久居留身份证 | 护照 "
        "(or resident_id, hmt_residence_permit, tw_travel_permit, foreign_permanent_residence, passport)",
        examples=["居民身份证"],
    )
    id_number: str = Field(min_length=1, max_length=40)
    nationality: str | None = Field(
        default=None, description="ISO 3166 alpha-3 or Chinese name; passports"
    )
    gender: str | None = Field(
        default=None, description="男 | 女; derived from the ID number when it says"
    )
    birth_date: dt.date | None = None
    district: str | None = Field(default=None, description="Xiamen district code or name")
    category: Category | None = None
    phone: str | None = Field(default=None, max_length=20)


class TraineeUpdate(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    gender: str | None = None
    birth_date: dt.date | None = None
    district: str | None = None
    category: Category | None = None
    phone: str | None = Field(default=None, max_length=20)


class TraineeLookup(Schema):
    id_type: str
    id_number: str = Field(min_length=1, max_length=40)
    nationality: str | None = None


class TraineeOut(Schema):
    id: UUID
    name: str
    id_type: str
    id_type_name: str
    id_number_masked: str
    nationality: str
    gender: str | None
    birth_date: dt.date | None
    district: str | None
    category: str | None
    phone: str | None
    created_at: dt.datetime


class TraineeRegistered(Schema):
    created: bool = Field(
        description="false when the person was already registered and is now linked"
    )
    trainee: TraineeOut
