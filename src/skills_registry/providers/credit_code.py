"""统一社会信用代码 (GB 32100-2015): only the 18th (check) character is verified."""

from __future__ import annotations

from ..identity import normalise_text

_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_character(first17: str) -> str:
    total = sum(_CHARSET.index(ch) * w for ch, w in zip(first17, _WEIGHTS, strict=True))
    return _CHARSET[(31 - total % 31) % 31]


def parse_credit_code(value: str) -> str:
    code = normalise_text(value).upper()
    if len(code) != 18:
        raise ValueError(
            f"统一社会信用代码应为18位（现为{len(code)}位）/ the credit code has 18 characters"
        )
    bad = sorted({ch for ch in code if ch not in _CHARSET})
    if bad:
        raise ValueError(
            f"统一社会信用代码含有不允许的字符 {''.join(bad)}（不使用 I、O、Z、S、V）"
            " / the credit code contains characters it never uses"
        )
    expected = credit_code_check_character(code[:17])
    if code[17] != expected:
        raise ValueError(
            f"统一社会信用代码校验位应为 {expected} / check character should be {expected}"
        )
    return code
