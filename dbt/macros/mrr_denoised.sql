-- Sums and powers of doubles carry noise far below a cent (0.1 + 0.2 <> 0.3). MRR is
-- rounded to 1e-6 where it is compared from month to month, so an unchanged MRR
-- compares equal and makes no movement; presentation rounds to cents.
{% macro mrr_denoised(amount) -%}
    round({{ amount }}, 6)
{%- endmacro %}
