"""Stock CSV: export content, and import as upload -> preview -> apply, all or nothing."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum

from accounts.models import Role
from accounts.tests.factories import MembershipFactory
from creatorflow.core.testing import assert_other_account_gets_404, client_for
from inventory.csv_io import ImportRejected, import_preview, parse_counts_csv, stock_import_counts
from inventory.models import InventoryTransaction, StockLevel, TransactionType
from inventory.tests.factories import SKUFactory, StockLevelFactory, WarehouseFactory, stocked_sku

pytestmark = pytest.mark.django_db

INDEX = "/inventory/csv/"


@pytest.fixture
def owner():
    return MembershipFactory(role=Role.OWNER)


@pytest.fixture
def shop(owner):
    """Two SKUs of the owner's account: MUG (40 in MAIN, 6 reserved; 3 in OVF) and TOTE (10 in MAIN)."""
    account = owner.account
    main = WarehouseFactory(account=account, code="MAIN", is_default=True)
    overflow = WarehouseFactory(account=account, code="OVF")
    mug = stocked_sku(account=account, on_hand=40, warehouse=main, seller_sku="MUG", name="=Mug, white")
    StockLevel.objects.filter(sku=mug).update(reserved=6)
    StockLevelFactory(sku=mug, warehouse=overflow, on_hand=3)
    tote = stocked_sku(account=account, on_hand=10, warehouse=main, seller_sku="TOTE", name="Tote")
    return {"main": main, "overflow": overflow, "mug": mug, "tote": tote}


def _rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def _upload(client, text: str, name="count.csv"):
    return client.post(INDEX + "import/", {"file": SimpleUploadedFile(name, text.encode(), "text/csv")})


def _on_hand(sku) -> int:
    return StockLevel.objects.filter(sku=sku).aggregate(total=Sum("on_hand"))["total"]


# --- export -------------------------------------------------------------------------------------


def test_export_lists_the_accounts_stock_per_warehouse(owner, shop):
    # given another account's SKU and one of ours never stocked
    stocked_sku(seller_sku="NOT-OURS")
    SKUFactory(product__account=owner.account, seller_sku="NEW", name="New thing")

    # when
    response = client_for(owner).get(INDEX + "export/")

    # then: a streamed CSV download; formula-looking cells are quoted for spreadsheets
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert _rows(response) == [
        ["seller_sku", "name", "warehouse", "on_hand", "reserved", "available"],
        ["MUG", "'=Mug, white", "MAIN", "40", "6", "34"],
        ["MUG", "'=Mug, white", "OVF", "3", "0", "3"],
        ["TOTE", "Tote", "MAIN", "10", "0", "10"],
        ["NEW", "New thing", "MAIN", "0", "0", "0"],
    ]


def test_export_through_the_api_with_a_token(owner, shop):
    response = client_for(owner, api=True).get("/api/inventory/products.csv")
    assert response.status_code == 200
    assert [row[0] for row in _rows(response)] == ["seller_sku", "MUG", "MUG", "TOTE"]


def test_viewer_may_export_but_not_import(owner, shop):
    viewer = client_for(MembershipFactory(account=owner.account, role=Role.VIEWER))
    assert viewer.get(INDEX).status_code == 200
    assert viewer.get(INDEX + "export/").status_code == 200
    assert _upload(viewer, "seller_sku,on_hand\nTOTE,11\n").status_code == 403


# --- import -------------------------------------------------------------------------------------


def test_preview_lists_changes_and_apply_writes_ledger_rows(owner, shop):
    client = client_for(owner)
    # given a count: MUG in MAIN to 36, MUG in OVF to 0, TOTE unchanged (default warehouse)
    text = "seller_sku,warehouse,on_hand\nMUG,MAIN,36\nMUG,OVF,0\nTOTE,,10\n"

    # when uploaded
    response = _upload(client, text)

    # then a preview page lists each change old -> new with its line, nothing applied yet
    assert response.status_code == 302
    preview_url = response["Location"]
    page = client.get(preview_url)
    assert page.status_code == 200
    changes = [
        (c.line, c.seller_sku, c.warehouse, c.old, c.new, c.delta) for c in page.context["preview"].changes
    ]
    assert changes == [(2, "MUG", "MAIN", 40, 36, -4), (3, "MUG", "OVF", 3, 0, -3)]
    assert page.context["preview"].unchanged == 1
    assert b"Apply 2 changes" in page.content
    assert _on_hand(shop["mug"]) == 43

    # when applied
    applied = client.post(preview_url + "apply/")

    # then: all in, one ADJUSTMENT per change with reason csv_import and the user as actor
    assert applied.status_code == 302 and applied["Location"] == INDEX
    assert _on_hand(shop["mug"]) == 36
    entries = InventoryTransaction.objects.filter(sku=shop["mug"]).order_by("quantity")
    assert [(e.type, e.quantity, e.previous_level, e.new_level, e.reason, e.actor_id) for e in entries] == [
        (TransactionType.ADJUSTMENT, -4, 40, 36, "csv_import", owner.user.pk),
        (TransactionType.ADJUSTMENT, -3, 3, 0, "csv_import", owner.user.pk),
    ]
    assert not InventoryTransaction.objects.filter(sku=shop["tote"]).exists()
    # and the preview is gone: applying twice is impossible
    assert client.post(preview_url + "apply/").status_code == 404


def test_bad_rows_are_reported_by_line_and_nothing_is_applied(owner, shop):
    client = client_for(owner)
    stocked_sku(seller_sku="FOREIGN")  # another account's SKU is unknown here
    text = (
        "seller_sku,warehouse,on_hand\n"
        "TOTE,,12\n"  # 2: fine
        "GHOST,,1\n"  # 3: unknown SKU
        "TOTE,MAIN,ten\n"  # 4: not a number
        "MUG,OVF,-2\n"  # 5: negative
        "MUG,MAIN,5\n"  # 6: below the 6 reserved
        "TOTE,MAIN,13\n"  # 7: TOTE in MAIN again (line 2 used the default, MAIN)
        "FOREIGN,,4\n"  # 8: not ours
        "MUG,NOWHERE,4\n"  # 9: unknown warehouse
    )
    response = client.get(_upload(client, text)["Location"])

    errors = [(e.line, e.message) for e in response.context["preview"].errors]
    assert [line for line, _ in errors] == [3, 4, 5, 6, 7, 8, 9]
    messages = dict(errors)
    assert "unknown SKU" in messages[3]
    assert "not a whole number" in messages[4]
    assert "negative" in messages[5]
    assert "reserved" in messages[6]
    assert "duplicate" in messages[7] and "line 2" in messages[7]
    assert "unknown SKU" in messages[8]
    assert "unknown warehouse" in messages[9]
    assert b"Apply" not in response.content
    # posting Apply anyway changes nothing
    assert client.post(response.request["PATH_INFO"] + "apply/").status_code == 409
    assert _on_hand(shop["tote"]) == 10
    assert not InventoryTransaction.objects.exists()


def test_stock_reserved_since_the_preview_refuses_the_whole_import(owner, shop):
    # given a preview that was fine
    rows, errors = parse_counts_csv(b"seller_sku,warehouse,on_hand\nTOTE,MAIN,12\nMUG,MAIN,7\n")
    assert import_preview(account=owner.account, rows=rows, errors=errors).ok
    # when 2 more MUG units are reserved (8 > 7) before Apply
    StockLevel.objects.filter(sku=shop["mug"], warehouse=shop["main"]).update(reserved=8)
    client = client_for(owner)
    preview_url = _upload(client, "seller_sku,warehouse,on_hand\nTOTE,MAIN,12\nMUG,MAIN,7\n")["Location"]
    response = client.post(preview_url + "apply/")

    # then nothing at all is applied (TOTE was fine, but it is all or nothing)
    assert response.status_code == 409
    assert [e.line for e in response.context["apply_errors"]] == [3]
    assert b"Nothing was imported" in response.content
    assert _on_hand(shop["tote"]) == 10 and _on_hand(shop["mug"]) == 43
    assert not InventoryTransaction.objects.exists()


def test_service_refuses_under_locks_too(owner, shop):
    rows, _ = parse_counts_csv(b"seller_sku,on_hand\nTOTE,12\nMUG,5\n")
    with pytest.raises(ImportRejected) as refused:
        stock_import_counts(account=owner.account, rows=rows, actor=owner.user)
    assert [e.line for e in refused.value.errors] == [3]
    assert _on_hand(shop["tote"]) == 10


def test_import_creates_a_stock_level_in_a_warehouse_never_stocked(owner, shop):
    rows, _ = parse_counts_csv(b"seller_sku,warehouse,on_hand\nTOTE,OVF,8\n")
    result = stock_import_counts(account=owner.account, rows=rows, actor=owner.user)
    assert (result.changed, result.units_delta) == (1, 8)
    assert StockLevel.objects.get(sku=shop["tote"], warehouse=shop["overflow"]).on_hand == 8


def test_an_exported_file_imports_as_it_is(owner, shop):
    client = client_for(owner)
    exported = b"".join(client.get(INDEX + "export/").streaming_content).decode()
    edited = exported.replace("TOTE,Tote,MAIN,10,", "TOTE,Tote,MAIN,15,")
    page = client.get(_upload(client, edited)["Location"])
    preview = page.context["preview"]
    assert preview.ok, preview.errors
    assert [(c.seller_sku, c.old, c.new) for c in preview.changes] == [("TOTE", 10, 15)]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"sku,count\nTOTE,1\n", "seller_sku, on_hand"),
        (b"seller_sku,on_hand\n", "no rows"),
        ("seller_sku,on_hand\nT\u00d6TE,1\n".encode("latin-1"), "UTF-8"),
    ],
)
def test_unreadable_files_are_refused_on_the_form(owner, shop, content, message):
    client = client_for(owner)
    response = client.post(INDEX + "import/", {"file": SimpleUploadedFile("x.csv", content, "text/csv")})
    assert response.status_code == 400
    assert message in response.content.decode()


def test_import_pages_of_another_account_are_404(owner, shop):
    client = client_for(owner)
    preview_url = _upload(client, "seller_sku,on_hand\nTOTE,11\n")["Location"]
    assert_other_account_gets_404(preview_url, owner=owner)
    assert_other_account_gets_404(preview_url + "apply/", owner=owner, method="post", data={})
    assert _on_hand(shop["tote"]) == 11  # applied once, by its owner


def test_index_page_renders_for_the_owner(owner, shop):
    response = client_for(owner).get(INDEX)
    assert response.status_code == 200
    assert b"Export stock" in response.content and b"Preview import" in response.content
