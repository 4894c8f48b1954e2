-- How far two sums of the same doubles may differ by rounding alone: `absolute` for
-- everyday amounts, plus 1e-12 of the magnitude summed, so that a sound portfolio of
-- large amounts (a double holds ~16 digits) does not fail an exact invariant.
{% macro float_noise(magnitude, absolute=0.0001) -%}
    ({{ absolute }} + 1e-12 * ({{ magnitude }}))
{%- endmacro %}
