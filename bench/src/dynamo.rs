//! DynamoDB tables as `template.yaml` makes them, for moto.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Creates the on-demand table `name`, partition key `key` (a String).
pub async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str, key: &str) -> Result<(), Error> {
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(key)
                .attribute_type(ScalarAttributeType::S)
                .build()?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(key)
                .key_type(KeyType::Hash)
                .build()?,
        )
        .send()
        .await?;
    Ok(())
}
