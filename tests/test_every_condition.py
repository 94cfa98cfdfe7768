"""Every shipped conditional model draws every condition it offers, as the shipped judges read it.

An average over conditions is no evidence that each one works: the first shipped colour generator
scored "colour 90.6%" while it drew pink for red and red for pink every time. So each class, colour
and attribute value a shipped generator, VAE or colorizer takes is asked for PER_CONDITION times, and
the judge must read it as asked at least BAR of the time. A condition has a lower bar only where the
judge itself reads real items of it less well (LOWER_BARS, each with its reason).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fashiongan import attributes as attribute_models, sampling
from fashiongan.colorize import load_colorizer, paint_items
from fashiongan.data import colored
from fashiongan.metrics import condition_scores, load_judge
from fashiongan.metrics.conditioning import CLASSIFIER, value_scores
from fashiongan.metrics.features import COLOUR_JUDGE, judge_classes, judge_colours, judge_for, judge_outputs
from fashiongan.objectives.attributes import probabilities

PER_CONDITION = 60
BAR = 0.8
LOWER_BARS = {  # condition: (bar, why the judge cannot demand BAR of it)
    "Shirt": (0.6, "the judges name only 82% of real test shirts: at 28 px a shirt shares its outline with "
                   "T-shirts, pullovers and coats (pretrained:evaluator 81.7%, pretrained:colour-judge 82.4%)"),
    "shirt": (0.6, "the category of the shirts above, as the attribute set spells it"),
}

GENERATORS = [model for model in sampling.generator_models() if model.shipped]
CLASS_MODELS = [source for model in GENERATORS if model.conditional for source in model.shipped]
COLOUR_MODELS = [source for model in GENERATORS if model.colour_conditional for source in model.shipped]
ATTRIBUTE_MODELS = [source for model in GENERATORS if model.attribute_conditional for source in model.shipped]


def misses(scores: dict) -> list[str]:
    """The conditions read as asked less often than their bar, with what they were read as instead."""
    found = []
    for row, name in enumerate(scores["names"]):
        accuracy = scores["accuracy"].get(name)
        bar = LOWER_BARS.get(name, (BAR, ""))[0]
        if accuracy is not None and accuracy < bar:
            counts = np.array(scores["confusion"][row])
            counts[row] = -1
            found.append(f"{name} {accuracy:.0%} < {bar:.0%} (mostly read as {scores['names'][int(counts.argmax())]})")
    return found


def test_every_condition_a_shipped_model_offers_is_checked() -> None:
    assert {"pretrained:acgan-narrow", "pretrained:acgan-colour"} <= set(CLASS_MODELS)
    assert COLOUR_MODELS == ["pretrained:acgan-colour", "pretrained:flow-colour"]
    assert ATTRIBUTE_MODELS == ["pretrained:cvae", "pretrained:flow-attributes"]
    assert "pretrained:flow-attributes" not in CLASS_MODELS  # it takes the category as an attribute


@pytest.mark.parametrize("source", CLASS_MODELS)
def test_every_class_is_drawn_as_asked(source: str) -> None:
    net = sampling.load_generator(source)
    judge = load_judge(judge_for(net.image_shape[0]))
    colour = "auto" if source in COLOUR_MODELS else None  # each item's colour as the catalogue paints its class
    drawn = sampling.sample(net, n=PER_CONDITION * net.num_classes, seed=0, colour=colour)
    logits = judge_outputs(judge, drawn.images).logits
    scores = condition_scores(logits.argmax(1), drawn.labels, judge_classes(judge, logits.shape[1]))
    assert len(scores["accuracy"]) == net.num_classes
    assert not misses(scores), f"{source}: {misses(scores)}"


@pytest.mark.parametrize("source", COLOUR_MODELS)
def test_every_colour_is_drawn_as_asked(source: str) -> None:
    net = sampling.load_generator(source)
    judge = load_judge(COLOUR_JUDGE)
    drawn = sampling.sample(net, n=PER_CONDITION * net.num_colours, seed=0)  # every class in every colour
    assert np.bincount(drawn.colours).tolist() == [PER_CONDITION] * net.num_colours
    colour_logits = judge_outputs(judge, drawn.images).colour_logits
    scores = condition_scores(colour_logits.argmax(1), drawn.colours, judge_colours(judge, colour_logits.shape[1]))
    assert scores["names"] == colored.colour_names()
    assert not misses(scores), f"{source}: {misses(scores)}"


@pytest.mark.parametrize("source", ATTRIBUTE_MODELS)
def test_every_attribute_value_is_drawn_as_asked(source: str) -> None:
    """Each value asked alone (the other columns drawn from the prior): the attribute classifier, the judge
    `evaluate` scores a VAE's attributes with, reads every column, and the colour judge the colour as well.
    (The colour judge also reads the category, but of the cVAE's blurry coats only 68% as coats, most of the
    rest as pullovers, while the attribute classifier reads them as coats: a known weakness of the shipped
    cVAE at its sampling temperature, measured in BENCHMARKS.md, that a lower temperature fixes only at
    the cost of half its recall.)"""
    net = sampling.load_generator(source)
    reader, judge = attribute_models.load(CLASSIFIER), load_judge(COLOUR_JUDGE)
    requests = [f"{column}={value}" for column, values in zip(net.vocabulary.columns, net.vocabulary.values) for value in values]
    images, asked, colours = [], [], []
    for seed, request in enumerate(requests):
        drawn = sampling.sample(net, n=PER_CONDITION, seed=seed, attributes=[request])
        asked.append(net.request([request]).expand(PER_CONDITION, -1))
        images.append(drawn.images)
        colours.append(drawn.colours)
    pixels = torch.from_numpy(np.concatenate(images)).permute(0, 3, 1, 2).float().div(127.5).sub(1)
    read = value_scores(probabilities(reader.net, pixels, reader.image_size), torch.cat(asked), reader.vocabulary)
    for column, scores in read["columns"].items():
        assert not misses(scores), f"{source} {column} (attribute classifier): {misses(scores)}"
    colour_logits = judge_outputs(judge, np.concatenate(images)).colour_logits
    by_judge = condition_scores(colour_logits.argmax(1), np.concatenate(colours), colored.colour_names())
    assert not misses(by_judge), f"{source} colour (colour judge): {misses(by_judge)}"


@pytest.mark.real_data
def test_the_colorizer_paints_every_colour_and_keeps_every_class() -> None:
    """Every colour on PER_CONDITION test items (every class alike); the class is judged on items painted in
    the colour the catalogue gave them, since the colour judge learnt which colours each class comes in
    (it reads real ankle boots, but not pink ones, as ankle boots)."""
    model = load_colorizer("pretrained:colorizer")
    judge = load_judge(COLOUR_JUDGE)
    test = colored.load("test", "catalogue", 0)
    items = np.concatenate([np.flatnonzero(test.labels == k)[:PER_CONDITION] for k in range(10)])
    every_colour = np.tile(items.reshape(10, PER_CONDITION)[:, : PER_CONDITION // 10].reshape(-1), len(colored.catalogue()))
    asked = np.repeat(np.arange(len(colored.catalogue())), PER_CONDITION)
    colour_logits = judge_outputs(judge, paint_items(model, test.gray[every_colour], asked)[0]).colour_logits
    colours = condition_scores(colour_logits.argmax(1), asked, colored.colour_names())
    logits = judge_outputs(judge, paint_items(model, test.gray[items], test.colours[items])[0]).logits
    classes = condition_scores(logits.argmax(1), test.labels[items], judge_classes(judge, logits.shape[1]))
    assert len(colours["accuracy"]) == len(colored.catalogue()) and len(classes["accuracy"]) == 10
    assert not misses(colours), f"colorizer colours: {misses(colours)}"
    assert not misses(classes), f"colorizer classes: {misses(classes)}"
