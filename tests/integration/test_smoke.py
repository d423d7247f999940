def test_create_and_read(api, make_reseller):
    make_reseller("R1001")
    body = {"requestId": "r1", "orderId": "SO1", "resellerId": "R1001", "paymentType": "ADVANCE_PAYMENT",
            "paymentAmount": "1250000.00", "paymentDeadline": "2026-12-01T18:00:00+08:00", "tags": {"line": "boilers"}}
    r = api.post("/api/v1/integration/payment/create", json=body)
    assert r.status_code == 201, r.json
    d = r.json["data"]
    assert d["paymentAmount"] == "1250000.00" and d["paymentStatus"] == "UNPAID"
    r2 = api.post("/api/v1/integration/payment/create", json=body)
    assert r2.status_code == 201 and r2.json["data"]["duplicate"] is True
    s = api.get(f"/api/v1/integration/payment/{d['paymentId']}/status")
    assert s.status_code == 200, s.json
    lst = api.get("/api/v1/integration/payment", query_string={"resellerId": "R1001"})
    assert lst.json["data"]["total"] == 1
