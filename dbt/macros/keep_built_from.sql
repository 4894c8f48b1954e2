-- customer_months' post-hook: keep the fingerprints it was built from, where it is
-- incremental (the next build compares them, changed_customers); nothing on Spark,
-- where it is built whole every time.
{% macro keep_built_from() -%}
    {{ return(adapter.dispatch('keep_built_from')()) }}
{%- endmacro %}

{% macro default__keep_built_from() -%}
    create or replace table {{ customer_months_built() }} as select * from {{ ref('int_customer_months_inputs') }}
{%- endmacro %}

{% macro spark__keep_built_from() -%}
{%- endmacro %}
