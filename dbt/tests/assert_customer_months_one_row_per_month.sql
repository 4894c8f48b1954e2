-- customer_months holds one row per customer and month. A build inserts rows only for
-- the customers it computes (again): those whose lines changed, or all of them in a
-- whole build, as its post-hook keeps them (macro keep_built_from). Only their months
-- can repeat, so only they are checked: an incremental refresh at 100k companies then
-- skips a 5.6M-row group-by (2 s that every mart downstream waited for). Where no
-- build kept them (Spark builds the table whole), every customer is checked. Rows
-- returned are the customer months that repeat.
{{ config(meta={'dagster': {'ref': {'name': 'customer_months'}}}) }}

{%- set rebuilt = kept_about('int_customer_months_inputs', 'customer_months', 'rebuilt') %}
{%- set kept = adapter.get_relation(rebuilt.database, rebuilt.schema, rebuilt.identifier) %}

with

customer_months as (
    select * from {{ ref('customer_months') }}
    {%- if kept is not none %}
        where customer_id in (select customer_id from {{ rebuilt }})
    {%- endif %}
)

select
    customer_months.customer_id,
    customer_months.month,
    count(*) as rows_in_month
from customer_months
group by customer_months.customer_id, customer_months.month
having count(*) > 1
