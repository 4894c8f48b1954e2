-- A table that a model computed per customer (customer_months and its product months, the
-- forecast's contract months and invoices) keeps about its builds: `built_from`, the
-- fingerprints it was last built from (a copy of its inputs model), and `rebuilt`, the
-- customers its last build computed. Named after the model, beside its inputs model in
-- the intermediate schema: never a mart, so never published.
{% macro kept_about(inputs, model_name, what) -%}
    {%- set beside = ref(inputs) -%}
    {{ return(api.Relation.create(
        database=beside.database, schema=beside.schema, identifier=model_name ~ '_' ~ what
    )) }}
{%- endmacro %}
