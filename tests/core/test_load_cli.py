"""The CLI's loading flags on a GBK Taobao export in yuan: --encoding, --amount-unit,
--currency, --columns, - for stdin; the CLI says on stderr what it read."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from ecrm.cli._loading import parse_columns
from ecrm.cli._main import UsageError, main

# Three buyers of a Taobao shop, as the seller centre exports them (GBK, yuan, ￥ and commas)
TAOBAO = (
    "订单编号,买家会员名,买家实际支付金额,订单状态,订单创建时间,收货地址\r\n"
    "3801,tb_小雨,\"￥2,256.00\",交易成功,2024/06/14 20:28:08,江苏省 南京市\r\n"
    "3802,tb_小雨,99.50,交易成功,2024/05/02 09:00,江苏省 南京市\r\n"
    "3803,老王,10.00,交易成功,2023/12/01 10:00,浙江省 杭州市\r\n"
    "3804,阿花,120.00,交易关闭,2024/06/20 10:00,广东省 深圳市\r\n"
)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "ExportOrderList.csv"
    path.write_bytes(TAOBAO.encode("gbk"))
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    out = io.StringIO()
    code = main(list(argv), stdout=out)
    return code, out.getvalue(), capsys.readouterr().err


def test_rfm_on_a_gbk_taobao_export_in_yuan(capsys: pytest.CaptureFixture[str], export: Path,
                                            tmp_path: Path) -> None:
    scores = tmp_path / "scores.csv"
    code, out, err = _run(capsys, "rfm", str(export), "--as-of", "20240701", "--out", str(scores))
    assert code == 0, err
    assert f"ecrm rfm: read {export}: 4 rows, gb18030 (detected)" in err
    assert "买家实际支付金额 in yuan (amount_unit='yuan')" in err
    assert "OrderLog(4 orders, 3 customers" in out
    rows = scores.read_text(encoding="utf-8").splitlines()
    # tb_小雨: 2 orders in the year, ¥2,355.50; 老王: 1 order of ¥10.00; 阿花's is closed
    assert any(r.startswith("tb_小雨,") and ",2,235550," in r for r in rows), rows
    assert any(r.startswith("老王,") and ",1,1000," in r for r in rows), rows


def test_the_same_export_from_stdin_and_an_explicit_encoding(
    capsys: pytest.CaptureFixture[str], export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = io.BufferedReader(io.BytesIO(export.read_bytes()))  # type: ignore[arg-type]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(stdin, encoding="latin-1"))
    code, out, err = _run(capsys, "rfm", "-", "--as-of", "2024/07/01", "--encoding", "gbk")
    assert code == 0, err
    assert "ecrm rfm: read -: 4 rows, gbk," in err
    assert "OrderLog(4 orders, 3 customers" in out


def test_a_wrong_encoding_names_the_file_line_and_bytes(
    capsys: pytest.CaptureFixture[str], export: Path
) -> None:
    code, _out, err = _run(capsys, "rfm", str(export), "--as-of", "2024-07-01",
                           "--encoding", "utf-8")
    assert code == 1
    assert f"{export}:1: column '<line>'" in err
    assert "cannot be decoded as utf-8" in err
    assert "Traceback" not in err


def test_columns_amount_unit_and_currency_flags(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "shop.csv"
    path.write_text("会员,下单,实付\nu1,19970101,29.33\nu2,19970102,12\n", encoding="utf-8")
    mapping = tmp_path / "columns.json"
    mapping.write_text(json.dumps({"customer_id": "会员", "placed_at": "下单", "amount": "实付"}),
                       encoding="utf-8")
    code, out, err = _run(capsys, "rfm", str(path), "--as-of", "19970201", "--columns",
                          str(mapping), "--currency", "USD", "--tz", "America/New_York")
    assert code == 0, err
    assert "currency='USD'" in out
    assert "实付 in yuan (values have decimals, separators or ¥)" in err
    code, _out, err = _run(capsys, "rfm", str(path), "--as-of", "19970201", "--columns",
                           "customer_id=会员,placed_at=下单,amount=实付", "--amount-unit", "fen")
    assert code == 1
    assert f"{path}:2: column '实付'" in err
    assert "must be an integer number of fen" in err


def test_parse_columns_reads_pairs_and_files(tmp_path: Path) -> None:
    assert parse_columns("customer_id=会员, amount=实付") == {"customer_id": "会员",
                                                             "amount": "实付"}
    lines = tmp_path / "columns.txt"
    lines.write_text("# shop export\ncustomer_id=会员\n\namount=实付\n", encoding="utf-8")
    assert parse_columns(str(lines)) == {"customer_id": "会员", "amount": "实付"}
    with pytest.raises(UsageError, match="field=header"):
        parse_columns("customer_id")


def test_as_of_takes_the_date_forms_files_take(
    capsys: pytest.CaptureFixture[str], export: Path
) -> None:
    for as_of in ("20240701", "2024/07/01", "2024-07-01", "2024-07-01T00:00:00+08:00"):
        code, out, err = _run(capsys, "rfm", str(export), "--as-of", as_of)
        assert code == 0, err
        assert "RFM as of 2024-07-01T00:00:00+08:00" in out
    code, _out, err = _run(capsys, "rfm", str(export), "--as-of", "July")
    assert code == 2
    assert "--as-of must be a date" in err
