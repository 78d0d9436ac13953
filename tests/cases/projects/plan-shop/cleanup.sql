UPDATE orders SET status = 'archived';
DELETE FROM carts WHERE age > 30;
