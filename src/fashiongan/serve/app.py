"""The web app: a JSON API over the library and one static page, on the shipped weights, offline.

Every endpoint that runs a model is a plain ``def`` (FastAPI runs it in its thread pool, off the event
loop); nets load once per process (:class:`fashiongan.lookbook.Models`), and at most one request per core
runs model code at a time (16 threads contending for 2 cores made the tail twice as long: sample-6 p95 363 ms
ungated, 231 ms gated, same machine load). Sampling requests are not batched together: a batch of 48 costs
1.25 ms an image against 2.0 at 6, at most a third of the model time, and a request's images would then depend
on what else was in flight (the same seed must give the same images). Bad input of any kind is a 4xx:
pydantic limits on every field (422), a :class:`FashionGANError` from the library (422), a body over the
limit (413). No path from a request is ever opened: the page's three files are read from the package
when the app is made, and lookbooks are kept in memory under random ids.
"""

import os
import secrets
import threading
from collections import OrderedDict
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any, Callable, Literal, Optional

import numpy as np
import torch
from fastapi import FastAPI, File, Form, HTTPException, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response

from fashiongan import __version__, lookbook, sampling
from fashiongan.data import colored, fashion_mnist
from fashiongan.data.transforms import to_float, to_uint8
from fashiongan.errors import DataError, FashionGANError
from fashiongan.lookbook import render, tasks
from fashiongan.lookbook.capabilities import GARMENTS, Capabilities, Models, detect
from fashiongan.attacks import fgsm
from fashiongan.serve import schemas, uploads
from fashiongan.serve.limits import AccessLog, BodyLimit
from fashiongan.viz import grid_image

MAX_BODY = uploads.MAX_BYTES + 1024 * 1024  # bytes of any request: one upload and its form fields
MAX_EPS = 0.5
KEPT_LOOKBOOKS = 16
TEST_ITEMS = 10_000
STATIC = {"app.js": "text/javascript", "style.css": "text/css", "favicon.svg": "image/svg+xml"}


class Lookbooks:
    """The last few lookbooks built, by random id (for lock and download); never a path on disk."""

    def __init__(self, size: int = KEPT_LOOKBOOKS) -> None:
        self._books: OrderedDict[str, lookbook.Lookbook] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def add(self, book: lookbook.Lookbook) -> str:
        token = secrets.token_hex(6)
        with self._lock:
            self._books[token] = book
            while len(self._books) > self._size:
                self._books.popitem(last=False)
        return token

    def get(self, token: str) -> lookbook.Lookbook:
        with self._lock:
            if token not in self._books:
                raise HTTPException(404, f"no lookbook {token} on this server (it keeps the last {self._size})")
            return self._books[token]


def _static(name: str) -> str:
    return (resources.files("fashiongan") / "serve" / "static" / name).read_text(encoding="utf-8")


def _probabilities(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return model(x).softmax(1)[0]


def _prediction(probs: torch.Tensor) -> dict[str, Any]:
    classes = GARMENTS.classes  # the Classify tab's classifiers are the shipped ones of the built-in classes
    return {"prediction": classes[int(probs.argmax())],
            "probabilities": {name: round(float(p), 6) for name, p in zip(classes, probs)}}


def _rgb(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)


def _item_json(item: Any) -> dict[str, Any]:
    r = item.recipe
    return {"id": item.id, "slot": item.slot, "class": item.class_name, "confidence": round(item.confidence, 4),
            "colour": None if r.colour == colored.AUTO else r.colour, "fabric": r.fabric,
            "image": render.data_uri(item.image)}


def _book_json(token: str, book: lookbook.Lookbook) -> dict[str, Any]:
    return {
        "id": token, "seed": book.seed, "seconds": round(book.seconds, 3), "locked": book.locked,
        "outfits": [{"id": o.id, "rule": o.caption, "items": [_item_json(i) for i in o.items]} for o in book.outfits],
        "html": f"/api/lookbook/{token}/index.html", "manifest": f"/api/lookbook/{token}/manifest.json",
    }


def create_app(capabilities: Optional[Capabilities] = None, models: Optional[Models] = None,
               max_body: int = MAX_BODY, log: Optional[Callable[[str], None]] = None,
               rules: Optional[lookbook.Rules] = None) -> FastAPI:
    """The app over this install's shipped models (and the user's generators ``capabilities`` adds); routes for
    tasks that are not shipped are left out. The Lookbook tab dresses the capabilities' outfit generator by
    ``rules`` (the shipped ones when None). ``log`` gets one access line per request (method, path, status,
    milliseconds; never a body)."""
    caps = capabilities or detect()
    nets = models or Models()
    books = Lookbooks()
    gate = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))  # model work at once: one per core
    page = {name: _static(name) for name in ("index.html", *STATIC)}
    fabrics = tasks.fabrics(nets.task("restyle", caps.restyler)) if caps.restyler else ()
    GenerateRequest = schemas.generate_request(caps)
    Classifier = Literal[tuple(caps.classifiers)]  # type: ignore[valid-type]
    ClassName = Literal[GARMENTS.classes]  # type: ignore[valid-type]  # of the Fashion-MNIST test items
    Colour = Literal[tuple(colored.colour_names() + [colored.AUTO])]  # type: ignore[valid-type]

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        for generator in caps.generators:  # the first request should not pay for loading
            if not generator.source.startswith("pretrained:") or generator is caps.generator:
                nets.generator(generator.source)
        for source in caps.classifiers:
            nets.classifier(source)
        yield

    app = FastAPI(title="fashiongan", version=__version__, lifespan=lifespan,
                  description="Generate, colorize, restyle and classify fashion items; build lookbooks. Offline, on the shipped weights.")
    app.add_middleware(BodyLimit, limit=max_body, message=f"the image is over {uploads.MAX_MB} MB; {uploads.HELP}")
    if log is not None:
        app.add_middleware(AccessLog, log=log)

    @app.exception_handler(DataError)
    def data_missing(_: Request, exc: DataError) -> JSONResponse:
        return JSONResponse({"detail": f"{exc}; test items need Fashion-MNIST (fashiongan data info)"}, status_code=503)

    @app.exception_handler(FashionGANError)
    def bad_input(_: Request, exc: FashionGANError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    def read_upload(
        file: Optional[UploadFile], test_item: Optional[int], colour: bool = False, invert_light: bool = True,
    ) -> tuple[uploads.Upload, Optional[int]]:
        """The image a request names: an upload or a Fashion-MNIST test item (with its true class)."""
        if (file is None) == (test_item is None):
            raise FashionGANError("send exactly one of: file (an image upload) or test_item (0-9999)")
        if test_item is not None:
            data = nets.get("data", "test", fashion_mnist.load)
            item = data.images[test_item]
            return uploads.Upload(item, False, None, item.shape[1::-1]), int(data.labels[test_item])
        raw = file.file.read(uploads.MAX_BYTES + 1)
        if len(raw) > uploads.MAX_BYTES:
            raise HTTPException(413, f"the image is over {uploads.MAX_MB} MB; {uploads.HELP}")
        return uploads.load(raw, colour=colour, invert_light=invert_light), None

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(page["index.html"])

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: Literal[tuple(STATIC)]) -> Response:  # type: ignore[valid-type]
        return Response(page[name], media_type=STATIC[name])

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(page["favicon.svg"], media_type=STATIC["favicon.svg"])

    @app.get("/api/info")
    def info() -> dict[str, Any]:
        """What this install can do: generators (shipped and served) with the classes, colours and attributes each
        takes, classifiers, tasks, the test items' classes, the catalogue's colours, fabrics, limits."""
        return {
            "version": __version__, **caps.to_dict(), "default_generator": caps.generator.name, "fabrics": list(fabrics),
            "classes": list(GARMENTS.classes), "colours": [{"name": c.name, "hex": c.hex} for c in colored.catalogue()],
            "limits": {"images": schemas.MAX_IMAGES, "outfits": schemas.MAX_WEB_OUTFITS, "eps": MAX_EPS,
                       "upload_mb": uploads.MAX_MB, "megapixels": uploads.MAX_MEGAPIXELS, "upload_help": uploads.HELP},
        }

    @app.post("/api/generate")
    def generate(body: GenerateRequest) -> dict[str, Any]:  # type: ignore[valid-type]
        """New items from a generator, asked for by its own class (and colour, attribute) names: each image and the
        grid as PNG data URIs."""
        chosen = caps.named(body.model)
        if body.colour is not None and not chosen.colour:
            takers = [g.name for g in caps.generators if g.colour]
            raise FashionGANError(f"{chosen.name} takes no colour; generators that do: {', '.join(takers) or 'none'}")
        if body.label is not None and not chosen.conditional:
            raise FashionGANError(f"{chosen.name} is unconditional, so it takes no label")
        if body.attributes and not chosen.attributes:
            takers = [g.name for g in caps.generators if g.attributes]
            raise FashionGANError(f"{chosen.name} takes no attributes; generators that do: {', '.join(takers) or 'none'}")
        with gate:
            drawn = sampling.sample(nets.generator(chosen.source), body.n, label=body.label, seed=body.seed,
                                    colour=body.colour, attributes=body.attributes or None)
        shown = sampling.resize(drawn.images, 2 * drawn.images.shape[1])
        grid = grid_image(shown, min(body.n, 8), scale=1)
        return {
            "model": body.model, "seed": body.seed, "images": [render.data_uri(i) for i in drawn.images],
            "labels": drawn.label_names, "colours": drawn.colour_names, "grid": render.data_uri(np.asarray(grid)),
        }

    @app.get("/api/test-items")
    def test_items(label: Optional[ClassName] = None, n: int = Query(10, ge=1, le=40),  # type: ignore[valid-type]
                   seed: int = Query(0, ge=0, le=schemas.MAX_SEED)) -> dict[str, Any]:
        """Fashion-MNIST test items to pick from (their index is what the other endpoints take as test_item)."""
        data = nets.get("data", "test", fashion_mnist.load)
        pool = np.arange(len(data.labels)) if label is None else np.flatnonzero(data.labels == GARMENTS.classes.index(label))
        chosen = np.random.default_rng(seed).choice(pool, size=min(n, len(pool)), replace=False)
        return {"items": [{"index": int(i), "class": GARMENTS.classes[int(data.labels[i])], "image": render.data_uri(data.images[i])}
                          for i in chosen]}

    @app.post("/api/classify")
    def classify(
        model: Classifier = Form(caps.classifiers[0]),  # type: ignore[valid-type]
        eps: float = Form(0.1, ge=0, le=MAX_EPS, description="FGSM step on the [0, 1] pixel scale; 0 skips the attack."),
        test_item: Optional[int] = Form(None, ge=0, lt=TEST_ITEMS),
        file: Optional[UploadFile] = File(None),
    ) -> dict[str, Any]:
        """Class probabilities of an item, and of its FGSM-perturbed twin at ``eps`` (beside the original)."""
        upload, truth = read_upload(file, test_item)
        image, inverted = uploads.to_size(upload.image, 28), upload.inverted
        net = nets.classifier(model)
        x = to_float(image[None])
        with gate:
            probs = _probabilities(net, x)
            target = torch.tensor([truth if truth is not None else int(probs.argmax())])
            adversarial = fgsm(net, x, target, eps)
            adv_probs = _probabilities(net, adversarial)
        return {
            "model": model, "eps": eps, "inverted": inverted, "truth": None if truth is None else GARMENTS.classes[truth],
            "original": {"image": render.data_uri(image), **_prediction(probs)},
            "adversarial": {"image": render.data_uri(to_uint8(adversarial)[0]), **_prediction(adv_probs)},
            "fooled": int(adv_probs.argmax()) != int(target[0]),
        }

    if caps.colorizer:
        @app.post("/api/colorize")
        def colorize(
            colour: Colour = Form("auto"),  # type: ignore[valid-type]
            test_item: Optional[int] = Form(None, ge=0, lt=TEST_ITEMS),
            file: Optional[UploadFile] = File(None),
        ) -> dict[str, Any]:
            """A grayscale item painted in the colour asked (or one the model picks: auto), before and after."""
            upload, _ = read_upload(file, test_item, invert_light=False)
            with gate:
                after, cut_out = tasks.colorize(nets.task("colorize", caps.colorizer), upload.image[None], [colour])
            return {"colour": colour, "cut_out": bool(cut_out[0]), "size": list(upload.size),
                    "before": render.data_uri(uploads.answer(_rgb(upload.image), upload)),
                    "after": render.data_uri(uploads.answer(after[0], upload))}

    if caps.restyler:
        Fabric = Literal[tuple(fabrics)]  # type: ignore[valid-type]

        @app.post("/api/restyle")
        def restyle(
            fabric: Fabric = Form(...),  # type: ignore[valid-type]
            test_item: Optional[int] = Form(None, ge=0, lt=TEST_ITEMS),
            file: Optional[UploadFile] = File(None),
        ) -> dict[str, Any]:
            """An item translated into another fabric by the shipped restyle model, and back: the triplet. A photo
            on a plain backdrop keeps its colours: the garment is cut out for the model and put back, not inverted."""
            upload, _ = read_upload(file, test_item, colour=True, invert_light=False)
            with gate:
                translated, reconstructed, cut_out = tasks.restyle(nets.task("restyle", caps.restyler), upload.image[None], fabric)
            return {"fabric": fabric, "cut_out": bool(cut_out[0]), "size": list(upload.size),
                    "before": render.data_uri(uploads.answer(_rgb(upload.image), upload)),
                    "after": render.data_uri(uploads.answer(translated[0], upload)),
                    "reconstructed": render.data_uri(uploads.answer(reconstructed[0], upload))}

    @app.post("/api/lookbook")
    def build_lookbook(body: schemas.LookbookRequest) -> dict[str, Any]:
        """Build a lookbook (or rebuild one around a locked item); its HTML and manifest stay downloadable."""
        lock = None
        if body.lock is not None:
            lock = (render.manifest(books.get(body.lock.lookbook)), body.lock.item)
        book = lookbook.build(body.outfits, body.seed, rules, lock=lock, capabilities=caps, models=nets)
        return _book_json(books.add(book), book)

    @app.get("/api/lookbook/{token}/index.html", response_class=HTMLResponse)
    def lookbook_html(token: str = Path(pattern=schemas.TOKEN)) -> HTMLResponse:
        """The lookbook as one self-contained HTML file (a download)."""
        return HTMLResponse(render.page(books.get(token)),
                            headers={"Content-Disposition": f'attachment; filename="lookbook-{token}.html"'})

    @app.get("/api/lookbook/{token}/manifest.json")
    def lookbook_manifest(token: str = Path(pattern=schemas.TOKEN)) -> dict[str, Any]:
        """Every item's seed, model, class and scores: what rebuilds the lookbook exactly."""
        return render.manifest(books.get(token))

    return app
