-- Rows where an invariant does not hold (as dbt_utils.expression_is_true; no
-- package download is possible at run time, so the project carries its own).
{% test expression_is_true(model, expression) %}
select * from {{ model }} where not ({{ expression }})
{% endtest %}
