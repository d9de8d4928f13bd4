//! Ready-made models: the Fashion-MNIST tutorial's two classifiers.

use rill_nn::prelude::*;
use rill_nn::Result;

/// The tutorial's model: `Flatten → Dense(128, relu) → Dense(10)` on 28×28 images, emitting logits.
pub fn fashion_mnist_mlp() -> Result<Sequential> {
    Sequential::new(vec![
        Box::new(Flatten::new()),
        Box::new(Dense::new(128).activation(Activation::Relu)),
        Box::new(Dense::new(10)),
    ])
    .with_input_shape(&[28, 28])
}

/// The tutorial's convolutional model: Conv2D 32 → MaxPool → Conv2D 64 → MaxPool → Flatten →
/// Dense 128 → Dropout(0.25) → Dense 10, on 28×28 images, emitting logits. The convolutions pad
/// to keep their input's size ("same"), so the border pixels count as much as the centre ones.
pub fn fashion_mnist_cnn() -> Result<Sequential> {
    Sequential::new(vec![
        Box::new(Reshape::new(&[28, 28, 1])),
        Box::new(
            Conv2D::new(32, (3, 3))
                .padding(Padding::Same)
                .activation(Activation::Relu),
        ),
        Box::new(MaxPooling2D::new((2, 2))),
        Box::new(
            Conv2D::new(64, (3, 3))
                .padding(Padding::Same)
                .activation(Activation::Relu),
        ),
        Box::new(MaxPooling2D::new((2, 2))),
        Box::new(Flatten::new()),
        Box::new(Dense::new(128).activation(Activation::Relu)),
        Box::new(Dropout::new(0.25)),
        Box::new(Dense::new(10)),
    ])
    .with_input_shape(&[28, 28])
}
