-- A key column: no NULL and no value twice, in one query (dbt's `unique` and `not_null`
-- together, as dbt_constraints' primary_key test checks a key). One test node instead
-- of two: dbt's cost per node, not the query, is most of a small refresh
-- (docs/benchmarks.md). A failing row is the NULL key or a repeated one, with its count.
{% test primary_key(model, column_name) %}
select {{ column_name }} as key_value, count(*) as rows_with_key
from {{ model }}
group by {{ column_name }}
having {{ column_name }} is null or count(*) > 1
{% endtest %}
