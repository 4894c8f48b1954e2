-- customer_months' post-hook, where it is incremental: keep the customers this build
-- computed (again), for its test, and the fingerprints it was built from, which the next
-- build compares (changed_customers). Nothing on Spark, where it is built whole every time.
{% macro keep_built_from() -%}
    {{ return(adapter.dispatch('keep_built_from')()) }}
{%- endmacro %}

{% macro default__keep_built_from() -%}
    create or replace table {{ customer_months_rebuilt() }} as
    {% if is_incremental() -%}
        {{ changed_customers() }}
    {%- else -%}
        select distinct customer_id from {{ this }}
    {%- endif %};
    create or replace table {{ customer_months_built() }} as select * from {{ ref('int_customer_months_inputs') }}
{%- endmacro %}

{% macro spark__keep_built_from() -%}
{%- endmacro %}
