-- A table customer_months keeps about its builds (customer_months_built,
-- customer_months_rebuilt): beside the intermediate models, so never published.
{% macro customer_months_kept(identifier) -%}
    {%- set inputs = ref('int_customer_months_inputs') -%}
    {{ return(api.Relation.create(
        database=inputs.database, schema=inputs.schema, identifier=identifier
    )) }}
{%- endmacro %}
