//! The write-units meter of the peak simulator: the units DynamoDB reports for a put and a
//! transaction are attributed to the partitions written, base table and index partitions,
//! including an index entry the request did not name (resolved after the writes).
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use scrm_adapters::dynamo::schema::{GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, PK, SK};
use scrm_tests::meter::Meter;
use scrm_tests::*;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

#[tokio::test]
async fn meter_attributes_units_to_base_and_index_partitions() {
    let db = db().await;
    let meter = Meter::new(db.tables.clone());
    let metered = meter.client(&db.client);
    let table = db.tables.ledger.clone();
    let t = new_tenant_id();
    let (first, second, index, other) = (
        format!("{t}#METER#1"),
        format!("{t}#METER#2"),
        format!("{t}#METERED"),
        format!("{t}#OTHER"),
    );

    // One put of a 1.5 KB item that is in gsi1: 2 units on its partition, 2 on the index's.
    metered
        .put_item()
        .table_name(&table)
        .item(PK, s(&first))
        .item(SK, s("A"))
        .item(GSI1_PK, s(&index))
        .item(GSI1_SK, s("A"))
        .item("payload", s("x".repeat(1500)))
        .send()
        .await
        .unwrap();
    let mut put = meter.take();
    meter.resolve(&mut put, &db.client).await.unwrap();
    assert_eq!((put.requests, put.failed), (1, 0));
    assert_eq!(put.units_on(&table, None, &first), 2.0);
    assert_eq!(put.units_on(&table, Some(GSI1.name), &index), 2.0);
    assert_eq!(put.units, 4.0);

    // A transaction (units doubled): a small put into gsi2 and an update of the first item
    // that does not name its gsi1 key (its index entry is rewritten all the same).
    metered
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&table)
                        .item(PK, s(&second))
                        .item(SK, s("B"))
                        .item(GSI2_PK, s(&other))
                        .item(GSI2_SK, s("B"))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(&table)
                        .key(PK, s(&first))
                        .key(SK, s("A"))
                        .update_expression("SET #n = :n")
                        .expression_attribute_names("#n", "note")
                        .expression_attribute_values(":n", s("changed"))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut tx = meter.take();
    meter.resolve(&mut tx, &db.client).await.unwrap();
    assert_eq!((tx.requests, tx.failed), (1, 0));
    // Base table: 2 × (1 + 2) units, split over the two items by their sizes.
    let base = tx.units_on(&table, None, &first) + tx.units_on(&table, None, &second);
    assert_eq!(base, 6.0);
    assert!(tx.units_on(&table, None, &first) > 0.0 && tx.units_on(&table, None, &second) > 0.0);
    // Indexes: the put's entry where it said, the update's where the item is indexed.
    assert_eq!(tx.units_on(&table, Some(GSI2.name), &other), 2.0);
    assert_eq!(tx.units_on(&table, Some(GSI1.name), &index), 4.0);
    assert_eq!(tx.units, 12.0);

    // A conditional put that fails: one failed request, charged on its base partition.
    let refused = metered
        .put_item()
        .table_name(&table)
        .item(PK, s(&second))
        .item(SK, s("B"))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await;
    assert!(refused.is_err());
    let failed = meter.take();
    assert_eq!((failed.requests, failed.failed), (1, 1));
    assert_eq!(failed.units_on(&table, None, &second), 1.0);
}
