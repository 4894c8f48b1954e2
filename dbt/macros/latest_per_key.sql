-- Exports overlap: the same record arrives in many files. The row from the
-- latest load (then the latest row of that file) is the record's current state.
{% macro latest_per_key(relation, key) -%}
    select *
    from {{ relation }}
    qualify row_number() over (
        partition by {{ key }}
        order by load_id desc, row_number desc
    ) = 1
{%- endmacro %}
