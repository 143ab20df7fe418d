/*
 * list: intrusive circular doubly linked list and container_of (Linux list.h, libuv QUEUE).
 *
 * A list is a sentinel struct list_node (the head) whose prev/next point at itself when empty.
 * Entries embed a struct list_node and are recovered with list_entry()/container_of(). The list
 * never allocates and never owns its entries: whoever links a node keeps the memory alive until
 * it is unlinked. An unlinked node points at itself (list_node_init, list_del), so
 * list_is_linked() tells whether a node currently sits in a list.
 */
#ifndef YGG64_LIB_LIST_H
#define YGG64_LIB_LIST_H

#include <stdbool.h>
#include <stddef.h>

#ifndef container_of
/* The struct of type that embeds member at address ptr. */
#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))
#endif

struct list_node {
	struct list_node *prev;
	struct list_node *next;
};

#define LIST_HEAD_INIT(name)                                                                       \
	{                                                                                          \
		.prev = &(name), .next = &(name)                                                   \
	}
#define list_entry(node, type, member) container_of(node, type, member)

/* Makes head an empty list, or marks a node as unlinked. */
static inline void list_init(struct list_node *head)
{
	head->prev = head;
	head->next = head;
}

static inline bool list_empty(const struct list_node *head)
{
	return head->next == head;
}

/* True when n sits in some list (false after list_init or list_del). */
static inline bool list_is_linked(const struct list_node *n)
{
	return n->next != n;
}

static inline void list_insert_between(struct list_node *n, struct list_node *prev,
				       struct list_node *next)
{
	n->prev = prev;
	n->next = next;
	prev->next = n;
	next->prev = n;
}

/* Links n (not in any list) as the first entry of head. */
static inline void list_add_head(struct list_node *head, struct list_node *n)
{
	list_insert_between(n, head, head->next);
}

/* Links n (not in any list) as the last entry of head. */
static inline void list_add_tail(struct list_node *head, struct list_node *n)
{
	list_insert_between(n, head->prev, head);
}

/* Unlinks n from its list and leaves it self-linked, so a second list_del is harmless. */
static inline void list_del(struct list_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	list_init(n);
}

/* First / last node of head, or NULL when the list is empty. */
static inline struct list_node *list_first(const struct list_node *head)
{
	return list_empty(head) ? NULL : head->next;
}

static inline struct list_node *list_last(const struct list_node *head)
{
	return list_empty(head) ? NULL : head->prev;
}

/* Unlinks and returns the first node, or NULL when the list is empty. */
static inline struct list_node *list_pop_head(struct list_node *head)
{
	struct list_node *n = list_first(head);

	if (n)
		list_del(n);
	return n;
}

/* Moves every node of from to the tail of to; from becomes empty. */
static inline void list_splice_tail(struct list_node *to, struct list_node *from)
{
	if (list_empty(from))
		return;
	from->next->prev = to->prev;
	to->prev->next = from->next;
	from->prev->next = to;
	to->prev = from->prev;
	list_init(from);
}

/* Iterates the nodes of head; pos must not be unlinked inside the body. */
#define list_foreach(pos, head) for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)
/* Iterates allowing list_del(pos) inside the body; tmp holds the next node. */
#define list_foreach_safe(pos, tmp, head)                                                          \
	for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head);                           \
	     (pos) = (tmp), (tmp) = (pos)->next)

#endif
