-- The condition that picks the customers a model computed per customer computes again (by
-- its fingerprints in `inputs`, changed_customers), on `column`. When they are few it
-- names them: in customer_months DuckDB then filters the lines before int_line_months
-- spreads them over the months, where `in (changed_customers)` filtered the 5.3M line
-- months after the spreading (1.2 s at 100k companies even for no customer at all; 0.02 s
-- named). Many customers (more than the var changed_customers_named_at_most: a new day's
-- spine, a large load) keep the subquery: then most lines are needed.
{% macro computed_again(column, inputs) -%}
    {%- set most_named = var('changed_customers_named_at_most') | int -%}
    {%- set changed = changed_customers(inputs) -%}
    {%- if not execute -%}
        {{ column }} in ({{ changed }})
    {%- else -%}
        {%- set found = run_query(
            'select * from (' ~ changed ~ ') as changed limit ' ~ (most_named + 1)
        ).columns[0].values() -%}
        {%- if found | length > most_named -%}
            {{ column }} in ({{ changed }})
        {%- elif found | length == 0 -%}
            false
        {%- else -%}
            {{ column }} in (
                {%- for customer in found | sort -%}
                    '{{ customer | replace("'", "''") }}'{{ ", " if not loop.last }}
                {%- endfor -%}
            )
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
