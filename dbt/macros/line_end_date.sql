-- The last active day of a contract line from a source that carries contract terms
-- (generic exports, the app; SPEC IX M2): a termination cuts every line; an
-- auto-renewing contract goes on at its latest price, so a line that runs to the
-- contract's end has no end; otherwise the line's own end, else the contract's.
{% macro line_end_date(line_end, contract_end, terminated_date, auto_renew) -%}
    case
        when {{ terminated_date }} is not null
            then least(
                coalesce({{ line_end }}, {{ contract_end }}, {{ terminated_date }}),
                {{ terminated_date }}
            )
        when {{ auto_renew }}
            and ({{ line_end }} is null or {{ line_end }} >= {{ contract_end }})
            then null
        else coalesce({{ line_end }}, {{ contract_end }})
    end
{%- endmacro %}
