-- Keys made of several columns (as dbt_utils.unique_combination_of_columns). On a model
-- computed per customer (`computed_by`: the fingerprints it is built from), only the rows
-- of the customers its last build computed (again) are read, where the build kept them
-- (macro keep_built_from): a build inserts rows for no other customer, and a key moving
-- between customers changes both, so only theirs can repeat. At 100k companies the
-- forecast's keys are 1.1M and 1.7M rows; after three small files, one customer's.
{% test unique_combination_of_columns(model, combination_of_columns, computed_by=none) %}
{%- set rebuilt = kept_about(computed_by, model.identifier, 'rebuilt') if computed_by else none %}
{%- set kept = none %}
{%- if rebuilt is not none and execute %}
    {%- set kept = adapter.get_relation(rebuilt.database, rebuilt.schema, rebuilt.identifier) %}
{%- endif %}
select {{ combination_of_columns | join(', ') }}, count(*) as n
from {{ model }}
{%- if kept is not none %}
where customer_id in (select customer_id from {{ rebuilt }})
{%- endif %}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}
