-- Every row is a failure: for tables whose rows are findings someone should act on.
{% test is_empty(model) %}
select * from {{ model }}
{% endtest %}
