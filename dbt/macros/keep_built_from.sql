-- The post-hook of a model computed per customer, where it is incremental: keep the
-- customers this build computed (again), for its tests, and the fingerprints in `inputs`
-- it was built from, which the next build compares (changed_customers). Nothing on
-- Spark, where such a model is a table built whole every time.
{% macro keep_built_from(inputs) -%}
    {{ return(adapter.dispatch('keep_built_from')(inputs)) }}
{%- endmacro %}

{% macro default__keep_built_from(inputs) -%}
    create or replace table {{ kept_about(inputs, this.identifier, 'rebuilt') }} as
    {% if is_incremental() -%}
        {{ changed_customers(inputs) }}
    {%- else -%}
        select distinct customer_id from {{ this }}
    {%- endif %};
    create or replace table {{ kept_about(inputs, this.identifier, 'built_from') }} as
    select * from {{ ref(inputs) }}
{%- endmacro %}

{% macro spark__keep_built_from(inputs) -%}
{%- endmacro %}
