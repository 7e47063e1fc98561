"""`ListedSelectField` draws exactly what WTForms' own `SelectField` draws, selection included,
though each option is rendered once per process."""

from __future__ import annotations

from wtforms import Form, SelectField
from wtforms.fields.choices import SelectChoice

from forms_app.web.widgets import ListedSelectField

CHOICES = [SelectChoice("", "请选择医院"),
           SelectChoice("pumc", "北京协和医院", render_kw={"data-city": "beijing"},
                        optgroup="北京"),
           SelectChoice("rj", "瑞金医院 <总院> & \"分院\"", render_kw={"data-city": "shanghai"},
                        optgroup="上海"),
           SelectChoice("x", "x", render_kw={"data-tags": ["a"]})]  # unhashable: not cached


class Listed(Form):
    hospital = ListedSelectField("医院", choices=CHOICES, validate_choice=False)


class Plain(Form):
    hospital = SelectField("医院", choices=CHOICES, validate_choice=False)


def test_the_same_markup_as_wtforms_for_every_selection() -> None:
    for chosen in ("", "pumc", "rj", "x", "pumc", None):
        listed, plain = Listed(data={"hospital": chosen}), Plain(data={"hospital": chosen})
        assert str(listed.hospital()) == str(plain.hospital())
        assert str(listed.hospital(class_="app-input")) == str(plain.hospital(class_="app-input"))
    drawn = str(Listed(data={"hospital": "rj"}).hospital())
    assert '<option data-city="shanghai" selected value="rj">' in drawn
    assert "&lt;总院&gt; &amp; &#34;分院&#34;" in drawn and '<optgroup label="北京">' in drawn
    assert drawn.count(" selected") == 1
