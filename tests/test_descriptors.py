"""cnnlib.features.descriptors: the intensity spin image and RIFT, and their
invariance to rotation (which HoG lacks)."""
import numpy as np
import pytest
from skimage.transform import rotate

from cnnlib.data import load_photo
from cnnlib.features import descriptors as D
from cnnlib.features import hog


@pytest.fixture(scope="module")
def photo():
    return load_photo("camera", gray=True, size=256)


def _relative_change(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(a)


def test_disk_coordinates():
    distance, angle, inside = D.disk_coordinates(5)
    assert distance[2, 2] == 0 and distance[0, 2] == 2 and inside[0, 2] and not inside[0, 0]
    assert angle[2, 4] == 0 and angle[4, 2] == pytest.approx(np.pi / 2)   # rows go down
    assert inside.sum() == 13


def test_spin_image_shape_normalisation_and_photometric_invariance(photo):
    patch = photo[100:131, 100:131]
    S = D.spin_image(patch, 8, 6)
    assert S.shape == (8, 6) and S.sum() == pytest.approx(1.0) and np.all(S >= 0)
    # distances and normalised intensities ignore brightness and contrast
    np.testing.assert_allclose(D.spin_image(3 * patch + 0.2, 8, 6), S, rtol=1e-10, atol=1e-13)


def test_spin_image_of_a_radial_ramp():
    """Intensity = distance from the centre: the brightest intensity bin of each
    distance bin moves up with the distance (far pixels are bright)."""
    distance, _, _ = D.disk_coordinates(21)
    peaks = D.spin_image(distance, 5, 5).argmax(axis=1)
    assert peaks[0] == 0 and peaks[-1] >= 3 and np.all(np.diff(peaks) >= 0)


def test_rift_radial_gradients_point_at_zero_degrees():
    distance, _, _ = D.disk_coordinates(21)
    outward = D.rift(distance, 4, 8)             # brightness grows outwards: phi = 0
    assert outward.shape == (4, 8) and np.linalg.norm(outward) == pytest.approx(1.0)
    assert np.all(outward.argmax(axis=1) == 0)
    inward = D.rift(-distance, 4, 8)             # grows inwards: phi = 180 degrees
    assert np.all(inward.argmax(axis=1) == 4)
    np.testing.assert_array_equal(D.rift(np.ones((9, 9))), 0)   # flat: no votes


@pytest.mark.parametrize("k", [1, 2, 3])
def test_quarter_turns_leave_both_unchanged(photo, k):
    patch = photo[60:93, 150:183]
    np.testing.assert_allclose(D.spin_image(np.rot90(patch, k)), D.spin_image(patch),
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(D.rift(np.rot90(patch, k)), D.rift(patch), rtol=1e-9,
                               atol=1e-12)


def test_any_rotation_changes_them_little_and_hog_a_lot(photo):
    """Over 12 patches turned by 30 and 45 degrees (rotated with a margin, then cut,
    so no corner is empty): spin image and RIFT change far less than the distance to a
    different patch; HoG changes almost as much as for a different patch."""
    rng = np.random.default_rng(0)
    size, margin = 41, 10
    change = {"spin": [], "rift": [], "hog": []}
    other = {"spin": [], "rift": [], "hog": []}

    def describe(p):
        return {"spin": D.spin_image(p), "rift": D.rift(p),
                "hog": hog(p[:40, :40], 9, (8, 8), (2, 2))}

    for r, c in rng.integers(40, 216, size=(12, 2)):
        region = photo[r - 30:r + 31, c - 30:c + 31]
        base = describe(region[margin:margin + size, margin:margin + size])
        r2, c2 = rng.integers(40, 216, size=2)
        different = describe(photo[r2 - 20:r2 + 21, c2 - 20:c2 + 21])
        for angle in (30, 45):
            turned = rotate(region, angle, order=1)[margin:margin + size,
                                                   margin:margin + size]
            d = describe(turned)
            for name in change:
                change[name].append(_relative_change(base[name], d[name]))
        for name in other:
            other[name].append(_relative_change(base[name], different[name]))
    med = {name: np.median(v) for name, v in change.items()}
    far = {name: np.median(v) for name, v in other.items()}
    assert med["spin"] < 0.05 and med["spin"] < 0.15 * far["spin"], (med, far)
    assert med["rift"] < 0.25 and med["rift"] < 0.35 * far["rift"], (med, far)
    assert med["hog"] > 0.6 * far["hog"], (med, far)


@pytest.mark.parametrize("call, error, says", [
    (lambda: D.spin_image(np.zeros((9, 8))), ValueError, "square grey patch"),
    (lambda: D.spin_image(np.zeros((9, 9, 3))), ValueError, "convert it to grey"),
    (lambda: D.spin_image(np.zeros((3, 3))), ValueError, "at least 5 x 5"),
    (lambda: D.spin_image(np.ones((9, 9))), ValueError, "flat inside its disk"),
    (lambda: D.spin_image(np.eye(9), 1, 5), ValueError, "at least 2"),
    (lambda: D.rift(np.full((9, 9), np.nan)), ValueError, "must be finite"),
    (lambda: D.rift(np.eye(9), 0), ValueError, "n_rings must be >= 1"),
    (lambda: D.disk_coordinates(0), ValueError, "size must be >= 1"),
])
def test_bad_input(call, error, says):
    with pytest.raises(error) as info:
        call()
    assert says in str(info.value)
