-- The marts' not-null constraints where the engine does not enforce them: a post-hook
-- of every mart (dbt_project.yml). DuckDB refuses a NULL under the enforced contract, so
-- nothing here. On Spark the contracts are not enforced (constraints on its Parquet
-- tables need Delta Lake): the mart is counted after it is built, and a NULL in such a
-- column fails the model, as on DuckDB.
{% macro not_null_constraints() -%}
    {{ return(adapter.dispatch('not_null_constraints')()) }}
{%- endmacro %}

{% macro default__not_null_constraints() -%}
{%- endmacro %}

{% macro spark__not_null_constraints() -%}
    {%- if execute -%}
        {%- set columns = [] -%}
        {%- for column in model.columns.values() -%}
            {%- if column.constraints | selectattr('type', 'equalto', 'not_null') | list -%}
                {%- do columns.append(column.name) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if columns -%}
            {%- set counts = [] -%}
            {%- for column in columns -%}
                {%- do counts.append('count_if(' ~ column ~ ' is null)') -%}
            {%- endfor -%}
            {%- set row = run_query('select ' ~ counts | join(', ') ~ ' from ' ~ this).rows[0] -%}
            {%- set nulls = [] -%}
            {%- for column in columns -%}
                {%- if row[loop.index0] > 0 -%}
                    {%- do nulls.append(column ~ ' (' ~ row[loop.index0] ~ ' rows)') -%}
                {%- endif -%}
            {%- endfor -%}
            {%- if nulls -%}
                {{ exceptions.raise_compiler_error(
                    this ~ ': NULL in a not-null column of its contract: ' ~ nulls | join(', ')
                ) }}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
